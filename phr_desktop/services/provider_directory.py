"""Find my provider: the shipped directory of organisations and their FHIR servers, a newer
brands bundle the user loaded (`phr providers update FILE`), and the search over them.

The shipped files (resources/providers/, built by tools/build_provider_directory.py) and the
user's update live outside any profile: they hold no health data. An update replaces the
brands part only; the athenahealth practice list stays the shipped one.
"""

from __future__ import annotations

import lzma
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import orjson

from phr_desktop.domain.ehr_vendors import vendor_codes_matching
from phr_desktop.domain.provider_directory import (
    DirectoryFormatError,
    ParsedDirectory,
    Provider,
    from_compact,
    parse_brands_bundle,
    to_compact,
)
from phr_desktop.domain.provider_search import DEFAULT_LIMIT, ProviderIndex, words_of
from phr_desktop.resources import resource_path
from phr_desktop.services.errors import ServiceError
from phr_desktop.services.output_files import output_error, write_output_bytes

BRANDS_FILE = "brands.json.xz"
ATHENA_FILE = "athena-practices.json.xz"
MAX_BUNDLE_BYTES = 256 * 1024 * 1024  # the shipped bundle is 14.5 MB; refuse absurd files


def compress_directory(parsed: ParsedDirectory) -> bytes:
    """The compact, xz-compressed form the app ships and stores."""
    data = orjson.dumps(to_compact(parsed.providers, parsed.timestamp))
    return lzma.compress(data, preset=9 | lzma.PRESET_EXTREME)


def _read_compact(path: Path) -> tuple[list[Provider], str]:
    try:
        data = orjson.loads(lzma.decompress(path.read_bytes()))
    except (lzma.LZMAError, orjson.JSONDecodeError) as exc:
        raise ServiceError(
            f"The provider directory {path} is damaged ({exc}); reinstall the app or load a "
            "brands bundle again with `phr providers update FILE`."
        ) from None
    try:
        providers = from_compact(data)
    except DirectoryFormatError as exc:
        raise ServiceError(f"{path}: {exc}") from None
    return providers, str(data.get("timestamp", ""))


@lru_cache(maxsize=4)
def _load_index(files: tuple[tuple[Path, int], ...]) -> tuple[ProviderIndex, str]:
    """The index over these files (keyed by path and modification time, so an update is
    seen at once and a dialog opened twice does not build it twice)."""
    providers: list[Provider] = []
    timestamp = ""
    for path, _mtime in files:
        found, stamp = _read_compact(path)
        providers.extend(found)
        timestamp = timestamp or stamp  # the brands file comes first
    return ProviderIndex(providers), timestamp


@dataclass(frozen=True)
class DirectoryInfo:
    organisations: int
    timestamp: str  # the brands bundle's date
    updated_file: Path | None  # the user's update in use, or None for the shipped one


@dataclass(frozen=True)
class UpdateReport:
    organisations: int
    skipped: int
    timestamp: str
    path: Path


class ProviderDirectory:
    def __init__(self, data_dir: Path) -> None:
        self.updated_file = data_dir / "providers" / BRANDS_FILE

    def _files(self) -> tuple[tuple[Path, int], ...]:
        brands = self.updated_file if self.updated_file.is_file() else None
        paths = [brands or resource_path("providers", BRANDS_FILE)]
        paths.append(resource_path("providers", ATHENA_FILE))
        try:
            return tuple((p, p.stat().st_mtime_ns) for p in paths)
        except FileNotFoundError as exc:
            raise ServiceError(
                f"The provider directory is missing ({exc.filename}); reinstall the app. "
                "A provider's FHIR address can still be typed in."
            ) from None

    def index(self) -> ProviderIndex:
        return _load_index(self._files())[0]

    def info(self) -> DirectoryInfo:
        index, timestamp = _load_index(self._files())
        in_use = self.updated_file if self.updated_file.is_file() else None
        return DirectoryInfo(len(index), timestamp, in_use)

    def search(
        self,
        text: str,
        *,
        vendor: str | None = None,
        include_test_systems: bool = False,
        limit: int = DEFAULT_LIMIT,
    ) -> list[Provider]:
        return self.index().search(
            text, vendor_filter=vendor, include_test_systems=include_test_systems, limit=limit
        )

    def named(self, name: str, *, vendor: str | None = None) -> Provider:
        """The one provider called `name` (test systems included: a name is a deliberate
        choice); a clear error when none or several are."""
        found = self.index().named(name)
        if vendor:
            vendors = vendor_codes_matching(vendor)
            found = [p for p in found if p.vendor in vendors]
        if not found:
            near: list[Provider] = []
            words = words_of(name)
            while words and not near:  # "Mayo Clinik" still suggests the Mayo ones
                near = self.search(" ".join(words), limit=5, include_test_systems=True)
                words = words[:-1]
            hint = f" Did you mean: {'; '.join(p.name for p in near)}?" if near else ""
            raise ServiceError(
                f"No provider is called {name!r} in the directory.{hint} Search with "
                "`phr providers search WORDS`, or connect by FHIR address."
            )
        distinct = {(p.fhir_base.rstrip("/").casefold(), p.vendor) for p in found}
        if len(distinct) > 1:
            listed = "; ".join(f"{p.name} ({p.vendor}, {p.fhir_base})" for p in found[:5])
            raise ServiceError(
                f"{len(found)} providers are called {name!r}: {listed}. Add --vendor V, or "
                "connect by FHIR address."
            )
        return found[0]

    def for_base(self, fhir_base: str) -> Provider | None:
        """The directory's entry for a FHIR address (trailing slash and case of the host
        ignored), to know its vendor when an address was typed."""
        wanted = fhir_base.strip().rstrip("/").casefold()
        if not words_of(wanted):
            return None
        for p in self.index().providers:
            if p.fhir_base.rstrip("/").casefold() == wanted:
                return p
        return None

    def update_from_file(self, path: Path) -> UpdateReport:
        """Check a newer brands bundle and keep it as this computer's directory. The file is
        read as JSON only; on any problem the directory in use stays as it was."""
        try:
            size = path.stat().st_size
            if size > MAX_BUNDLE_BYTES:
                raise ServiceError(
                    f"{path} is {size / 1e6:.0f} MB, too large for a provider directory "
                    f"(at most {MAX_BUNDLE_BYTES // 2**20} MB); nothing changed."
                )
            raw = path.read_bytes()
        except FileNotFoundError:
            raise ServiceError(f"There is no file {path}; nothing changed.") from None
        except IsADirectoryError:
            raise ServiceError(f"{path} is a folder; give the bundle's .json file.") from None
        except OSError as exc:
            raise ServiceError(
                f"{path} cannot be read ({exc.strerror}); nothing changed."
            ) from None
        try:
            parsed = parse_brands_bundle(orjson.loads(raw))
        except orjson.JSONDecodeError as exc:
            raise ServiceError(
                f"{path} is not JSON ({exc}); a brands bundle is a FHIR JSON file. Nothing changed."
            ) from None
        except DirectoryFormatError as exc:
            raise ServiceError(f"{path}: {exc} Nothing changed.") from None
        current = self.info().timestamp
        if parsed.timestamp and current and parsed.timestamp < current:
            raise ServiceError(
                f"{path} is dated {parsed.timestamp}, older than the directory in use "
                f"({current}); nothing changed."
            )
        target = self.updated_file
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise output_error(target.parent, exc) from None
        write_output_bytes(target, compress_directory(parsed))
        return UpdateReport(len(parsed.providers), parsed.skipped, parsed.timestamp, target)
