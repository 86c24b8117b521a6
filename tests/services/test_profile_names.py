"""Profile names may be any Unicode a person types; the folder is derived safely, the name is
shown as typed, and profiles made before keep working."""

from __future__ import annotations

import pytest

from phr_desktop.services.errors import ServiceError
from phr_desktop.services.profile_names import NAME_FILE, folder_name
from phr_desktop.services.profiles import Profiles

PASSPHRASE = "correct horse battery staple"


@pytest.mark.parametrize("name", ["Mum (Joan)", "Zoë 山田", "Dad's record", "Ünal Öztürk"])
def test_any_unicode_name_is_kept_and_unlocks(
    profiles: Profiles, fast_kdf: None, name: str
) -> None:
    session, _recovery = profiles.create(name, PASSPHRASE)
    session.close()
    assert profiles.names() == [name]
    folder = profiles.path(name)
    assert folder.parent == profiles.root and folder.name.isascii()
    with profiles.unlock(name, passphrase=PASSPHRASE) as again:
        assert again.profile_name == name


def test_names_that_look_like_paths_stay_inside_the_profiles_folder(
    profiles: Profiles, fast_kdf: None
) -> None:
    name = "Joan/../../evil/..\\CON"
    profiles.create(name, PASSPHRASE)[0].close()
    assert [p.parent for p in profiles.root.iterdir()] == [profiles.root]
    assert profiles.names() == [name]


def test_a_plain_name_is_still_its_own_folder_with_no_name_file(
    profiles: Profiles, fast_kdf: None
) -> None:
    profiles.create("alex", PASSPHRASE)[0].close()
    assert profiles.path("alex") == profiles.root / "alex"
    assert not (profiles.root / "alex" / NAME_FILE).exists()
    assert profiles.names() == ["alex"]


def test_two_names_that_fold_alike_get_two_folders() -> None:
    assert folder_name("Zoë") != folder_name("Zoe!")
    assert folder_name("Zoë").startswith("Zoe-")
    assert folder_name("山田").startswith("profile-")


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("  ", "Give the profile a name"),
        ("Joan\nSmith", "line breaks"),
        ("x" * 65, "at most 64"),
        (".hidden", "cannot start with '.'"),
        ("Jo\u202ean", "invisible"),
    ],
)
def test_unusable_names_are_refused_with_what_to_change(
    profiles: Profiles, fast_kdf: None, typed: str, says: str
) -> None:
    with pytest.raises(ServiceError, match=says):
        profiles.create(typed, PASSPHRASE)
    assert not profiles.root.exists() or list(profiles.root.iterdir()) == []


def test_a_name_file_copied_into_another_folder_is_not_believed(
    profiles: Profiles, fast_kdf: None
) -> None:
    profiles.create("Zoë 山田", PASSPHRASE)[0].close()
    profiles.create("alex", PASSPHRASE)[0].close()
    stolen = (profiles.path("Zoë 山田") / NAME_FILE).read_bytes()
    (profiles.root / "alex" / NAME_FILE).write_bytes(stolen)
    assert sorted(profiles.names()) == sorted(["alex", "Zoë 山田"])
