#!/bin/sh
# Install phr-desktop from this unpacked tarball, for you alone (default) or for everyone.
#
#   ./install.sh                     # into ~/.local: the app, its menu entry, icons, .phrshare
#   sudo ./install.sh --prefix /usr/local
#   ./install.sh --uninstall [--prefix DIR]
#
# The app goes to PREFIX/lib/phr-desktop, with `phr-desktop` and `phr` linked into
# PREFIX/bin; the menu entry, AppStream data, icons and the .phrshare type go under
# PREFIX/share, where desktops look for them. Your health records are not in any of these
# folders (they live in the per-user data folder) and are never touched by this script.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
prefix="$HOME/.local"
uninstall=no
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="$2"; shift 2 ;;
        --prefix=*) prefix="${1#--prefix=}"; shift ;;
        --uninstall) uninstall=yes; shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

app_dir="$prefix/lib/phr-desktop"
share="$prefix/share"
app_id=io.github.phrdesktop.PhrDesktop
sizes="16 24 32 48 64 128 256 512"

refresh_caches() {
    # Each tool is optional: without it the desktop picks the change up at next login.
    if command -v update-mime-database >/dev/null 2>&1; then
        update-mime-database "$share/mime" >/dev/null 2>&1 || true
    fi
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database "$share/applications" >/dev/null 2>&1 || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1; then
        gtk-update-icon-cache -q -t "$share/icons/hicolor" >/dev/null 2>&1 || true
    fi
}

if [ "$uninstall" = yes ]; then
    rm -rf "$app_dir"
    rm -f "$prefix/bin/phr-desktop" "$prefix/bin/phr"
    rm -f "$share/applications/phr-desktop.desktop" "$share/metainfo/$app_id.metainfo.xml"
    rm -f "$share/mime/packages/phr-desktop.xml"
    rm -f "$share/icons/hicolor/scalable/apps/phr-desktop.svg"
    for size in $sizes; do
        rm -f "$share/icons/hicolor/${size}x${size}/apps/phr-desktop.png"
        rm -f "$share/icons/hicolor/${size}x${size}/mimetypes/application-x-phrshare.png"
    done
    refresh_caches
    echo "phr-desktop removed from $prefix (your profiles and records are untouched)."
    exit 0
fi

mkdir -p "$prefix/bin" "$share/applications" "$share/metainfo" "$share/mime/packages"
rm -rf "$app_dir.new"
mkdir -p "$(dirname "$app_dir")"
cp -R "$here/phr-desktop" "$app_dir.new"
rm -rf "$app_dir"
mv "$app_dir.new" "$app_dir"
ln -sf "$app_dir/phr-desktop" "$prefix/bin/phr-desktop"
ln -sf "$app_dir/phr" "$prefix/bin/phr"

# The menu entry names the installed program by its full path: ~/.local/bin is not on
# every desktop session's PATH.
sed -e "s|^Exec=phr-desktop |Exec=\"$app_dir/phr-desktop\" |" \
    -e "s|^TryExec=phr-desktop|TryExec=$app_dir/phr-desktop|" \
    "$here/share/applications/phr-desktop.desktop" > "$share/applications/phr-desktop.desktop"
cp "$here/share/metainfo/$app_id.metainfo.xml" "$share/metainfo/"
cp "$here/share/mime/packages/phr-desktop.xml" "$share/mime/packages/"
cp -R "$here/share/icons" "$share/"
refresh_caches

echo "phr-desktop installed in $app_dir"
echo "It is in your applications menu; from a terminal: $prefix/bin/phr-desktop (and phr)."
case ":$PATH:" in
    *":$prefix/bin:"*) ;;
    *) echo "Note: $prefix/bin is not on your PATH." ;;
esac
