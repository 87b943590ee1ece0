#!/usr/bin/python3
"""The photographs of the photo demo: which Debian packages ship them, which
of their files are photographs (not rendered art), and under what licence.

    photo_sets.py packages SET        "SUITE PACKAGE" per line, to install
    photo_sets.py list SET [--root DIR]  "FILE<tab>LABEL<tab>PACKAGE<tab>NAME" per photo

SET is "full" (the demo: about 340 photos, 330 MB of packages) or "ci" (five
photos in a 2 MB package).  Packages of Debian 12 (suite bookworm) are
installed with apt, so their files are under /; those of later suites are
unpacked into DIR/PACKAGE (scripts/photo_demo.sh does both).  A label is the
photo's kind: a Tux Paint stamp's category (animals/birds, food/fruit, ...),
or "scene" for a wallpaper or puzzle photo of a whole scene.
Standard library only.
"""
import argparse
import glob
import os
import sys

# Not used, being rendered art rather than photographs: ukui-wallpapers,
# gnome-backgrounds, sway-backgrounds, lomiri-wallpapers (warty-final-ubuntu),
# lomiri-wallpapers-20.04 (one photograph of four: not worth 11 MB), and the
# art among the packages below (named in each entry).
PACKAGES = {
    # name: (suite, licence as the package's copyright file gives it, [(glob, label)])
    "palapeli-data": ("bookworm", "GPL-2+ (Debian copyright, Files: *)", [
        ("usr/share/palapeli/collection/*.jpg", "scene"),
    ]),
    "mate-backgrounds": ("bookworm", "GPL-2+ (each nature/ file's entry)", [
        # nature/ is photographs; abstract/ and desktop/ are rendered art
        ("usr/share/backgrounds/mate/nature/*.jpg", "scene"),
    ]),
    "lomiri-wallpapers-16.04": ("bookworm", "CC-BY-4.0, CC-BY-SA-4.0 or CC0-1.0 (per file)", [
        # not analogpattern, greentock, umang: rendered art
        ("usr/share/backgrounds/" + name, "scene") for name in (
            "Bridge_by_Sander_Klootwijk.jpg", "Dragonfly_by_Bolly.jpg", "Picture_0B_by_freespace.jpg",
            "Picture_1A_by_freespace.jpg", "Wine_by_Jakkub_Mede.jpg", "aitzgorri_by_Aitzol_Berasategi.jpg",
            "free_by_Peter_Nerlich.jpg", "friends_by_Aitzol_Berasategi.jpg", "life_by_Aitzol_Berasategi.jpg",
            "picosdeeuropa_by_Aitzol_Berasategi.jpg", "seeding_by_Clements_Engelhardt.jpg",
            "sunset_by_Aitzol_Berasategi.jpg")
    ]),
    "plasma-workspace-wallpapers": ("bookworm", "GPL-2+ (Debian copyright); LGPLv3 or CC-BY-SA-4.0 (each metadata)", [
        # the photographs among the 30 (the rest are rendered art), at 1920x1080 where there is one
        ("usr/share/wallpapers/%s/contents/images/%s" % (name, size), "scene") for name, size in (
            ("BytheWater", "1920x1080.jpg"), ("ColdRipple", "1920x1080.jpg"), ("ColorfulCups", "2560x1600.jpg"),
            ("DarkestHour", "1920x1080.jpg"), ("EveningGlow", "1920x1080.jpg"), ("FallenLeaf", "1920x1080.jpg"),
            ("Grey", "1920x1080.jpg"), ("Kite", "1920x1080.jpg"), ("OneStandsOut", "1920x1080.jpg"),
            ("Path", "1920x1080.jpg"), ("Volna", "5120x2880.jpg"), ("summer_1am", "1920x1080.jpg"))
    ]),
    "budgie-backgrounds": ("trixie", "CC0-1.0", [
        # not ocean-waves, valley-midnight, waves-midnight: art
        ("usr/share/backgrounds/budgie/%s.jpg" % name, "scene") for name in (
            "abstract-spiral", "beacon-street-sunset", "blue-periwinkle", "canyon-wren", "casa-mila",
            "extreme-desert-hike", "high-trestle-trail", "lake-sherburne", "oakland-zoo-otters",
            "perched-osprey", "piazza-gae-aulenti", "roman-colosseum", "saturnian-profile",
            "singaporean-cityscape", "tea-gardens")
    ]),
    "tuxpaint-stamps-default": ("bookworm", "GPL-2", [
        # photographs of single things cut out on a transparent background, by
        # category; clothes, seasonal, symbols, town, people and the cartoon/
        # folders are drawings, and *_mirror.png are Tux Paint's own mirror images
        ("usr/share/tuxpaint/stamps/" + pattern, None) for pattern in (
            "animals/**/*.png", "food/fruit/**/*.png", "food/nuts/**/*.png", "food/vegetables/**/*.png",
            "food/spices/**/*.png", "plants/**/*.png", "household/**/*.png", "hobbies/**/*.png",
            "sports/**/*.png", "vehicles/**/*.png", "space/moon/**/*.png")
    ]),
}

SETS = {
    "full": ["palapeli-data", "mate-backgrounds", "lomiri-wallpapers-16.04", "plasma-workspace-wallpapers",
             "budgie-backgrounds", "tuxpaint-stamps-default"],
    "ci": ["palapeli-data"],
}


def stamp_label(path):
    """A Tux Paint stamp's category: its folder under stamps/, two levels deep
    where there are two (animals/birds), one where not (household)."""
    parts = path.split("/stamps/", 1)[1].split("/")[:-1]
    return "/".join(parts[:2])


def photo_cache():
    """The photo demo's cache (scripts/photo_setup.sh's VQPQ_PHOTO_CACHE)."""
    return os.environ.get("VQPQ_PHOTO_CACHE") or os.path.join(os.environ.get("VQPQ_CACHE", "/var/cache/vqpq"),
                                                              "photo-demo")


def default_root():
    """Where scripts/photo_demo.sh unpacks the packages of later suites."""
    return os.path.join(photo_cache(), "debs")


def display_name(path):
    """The file's name, or for a Plasma wallpaper (images/1920x1080.jpg) its own."""
    if "/contents/images/" in path:
        return path.split("/contents/images/")[0].rsplit("/", 1)[1] + ".jpg"
    return os.path.basename(path)


def photos(set_name, root):
    """[(file, label, package, name)] of the set, in a fixed order."""
    out = []
    for package in SETS[set_name]:
        suite, _, patterns = PACKAGES[package]
        base = "/" if suite == "bookworm" else os.path.join(root, package)
        found = []
        for pattern, label in patterns:
            for f in sorted(glob.glob(os.path.join(base, pattern), recursive=True)):
                if "/cartoon/" in f or f.endswith("_mirror.png"):
                    continue
                found.append((f, label or stamp_label(f), package, display_name(f)))
        if not found:
            sys.exit(f"photo_sets.py: no photos of {package} under {base}: is it installed? "
                     f"(bash scripts/photo_demo.sh --install-only installs it)")
        out.extend(found)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["packages", "list", "licences"])
    ap.add_argument("set", choices=sorted(SETS))
    ap.add_argument("--root", default=default_root())
    args = ap.parse_args()
    if args.what == "packages":
        for package in SETS[args.set]:
            print(PACKAGES[package][0], package)
    elif args.what == "licences":
        for package in SETS[args.set]:
            print(f"{package}\t{PACKAGES[package][1]}")
    else:
        for f, label, package, name in photos(args.set, args.root):
            print(f"{f}\t{label}\t{package}\t{name}")


if __name__ == "__main__":
    main()
