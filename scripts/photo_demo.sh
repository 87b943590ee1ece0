#!/usr/bin/env bash
# The photo demo, from a fresh Debian 12 machine: "photo in, similar photos
# out", with a real CNN.  Installs what it needs (Debian packages, among them
# those the photographs come from, and demo/photos' npm packages, pinned, into
# $VQPQ_CACHE/photo-demo), builds and installs vqpq, starts a scratch server,
# then runs scripts/photo_search.py: embeds a few hundred photographs and
# edited copies of some with MobileNetV2 (demo/photos/embed.js), loads them as
# pqvector(1280), builds an ivfpq index with a progress report, and searches
# it -- near-duplicates, similar photos, timed and checked against an exact
# search -- and writes a contact sheet, vqpq-photos.png.
#
#   bash scripts/photo_demo.sh [--query FILE ...] [--edited N] [--queries N] [--png FILE]
#   bash scripts/photo_demo.sh --install-only     (installs, runs nothing)
#   (VQPQ_KEEP_SERVER=1 leaves the server running; VQPQ_PHOTO_SET=ci uses
#   five photos from a 2 MB package instead of the 330 MB of the full set)
set -euo pipefail
. "$(dirname "$0")/common.sh"
. "$VQPQ_ROOT/scripts/photo_setup.sh"

set_name=${VQPQ_PHOTO_SET:-full}
install_only=0
args=()
png="$PWD/vqpq-photos.png"
while [ $# -gt 0 ]; do
	case $1 in
		--install-only) install_only=1 ;;
		--png) png=$2; shift ;;
		--query) # said now, not after the installs
			[ -f "${2:-}" ] || die "--query ${2:-}: no such file"
			args+=("$1" "$2"); shift ;;
		*) args+=("$1") ;;
	esac
	shift
done

install_packages
ensure_photo_demo "$set_name"
[ "$install_only" = 1 ] && { log "installed: run bash scripts/photo_demo.sh"; exit 0; }
build_and_install ""
start_scratch_server
if [ "${VQPQ_KEEP_SERVER:-0}" = 1 ]; then trap - EXIT; fi

/usr/bin/python3 "$VQPQ_ROOT/scripts/photo_search.py" --set "$set_name" --png "$png" "${args[@]}"

if [ "${VQPQ_KEEP_SERVER:-0}" = 1 ]; then
	echo "server left running: PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=$PGUSER psql"
fi
