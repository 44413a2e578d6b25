#!/usr/bin/env python3
"""Generate conf/demo/inventory.csv: the demo shop of a first run.

A few hundred plausible records in the original's export format, made up
from the word lists below with a fixed seed, so the file is reproducible:
    python3 tests/bench/gen_demo.py > conf/demo/inventory.csv
Every record says it is a demo (location DEMO, a comment that says so).
"""
import csv
import random
import sys

ARTISTS = ["The Midnight Static", "Lena Brightwater", "Kōji Tanabe Trio",
           "Björn Ekelund", "Sister Saturn", "Orquesta Río Verde",
           "DJ Halcyon", "The Velvet Quarry", "Amara Okafor", "Neon Ferns",
           "Françoise Delaune", "Dub Cartographers", "Marta Szymańska",
           "Slow Harbour", "Tropic Relay", "Ghost Arcade", "Ruby Vance",
           "Los Tiburones", "Cold Meridian", "Hiroshi & The Lanterns"]
WORDS = ["Night", "Signal", "Gold", "River", "Echo", "Summer", "Glass",
         "Static", "Heart", "Machine", "Lights", "Dust", "Ocean", "Velvet",
         "Fire", "Winter", "Motion", "Dreams", "Avenue", "Garden"]
LABELS = ["Warp Drive Records", "Blue Lantern", "Ríoverde Discos",
          "Parlophonic", "Northern Spool", "Heavy Petal", "Kinetic Audio",
          "Soft Machine Music"]
FORMATS = [("Vinyl", "Vinyl, LP, Album"), ("Vinyl", "Vinyl, 12\", 33 ⅓ RPM"),
           ("Vinyl", "Vinyl, 7\", 45 RPM, Single"), ("CD", "CD, Album"),
           ("Cassette", "Cassette, Album")]
GENRES = [("Electronic", "House, Techno"), ("Rock", "Indie Rock, Shoegaze"),
          ("Jazz", "Hard Bop, Modal"), ("Reggae", "Dub, Roots Reggae"),
          ("Hip Hop", "Boom Bap"), ("Latin", "Salsa, Cumbia"),
          ("Funk / Soul", "Disco, Soul"), ("Pop", "Synth-pop")]
CONDITIONS = ["Mint (M)", "Near Mint (NM or M-)", "Very Good Plus (VG+)",
              "Very Good (VG)", "Good Plus (G+)", "Good (G)"]
SLEEVES = CONDITIONS + ["Generic", "No Cover"]
COUNTRIES = ["UK", "US", "Germany", "Japan", "France", "Jamaica", "Spain"]
COLUMNS = ["listing_id", "status", "condition", "sleeve_condition", "posted",
           "uri", "resource_url", "price_value", "price_currency", "weight",
           "format_quantity", "location", "comments", "release_id",
           "release_title", "release_year", "release_resource_url",
           "release_uri", "artist_names", "primary_artist", "label_names",
           "primary_label", "format_names", "primary_format", "genres",
           "styles", "country", "catalog_number"]


def record(rnd, i):
    lid = 4100000000 + i * 7919
    rid = 900000 + i * 131
    artist = rnd.choice(ARTISTS)
    label = rnd.choice(LABELS)
    primary, formats = rnd.choice(FORMATS)
    genre, styles = rnd.choice(GENRES)
    title = " ".join(rnd.sample(WORDS, rnd.randint(1, 3)))
    cents = rnd.choice([499, 799, 999, 1250, 1500, 1999, 2500, 3499, 4500,
                        7500, 12000])
    return {
        "listing_id": lid, "status": "For Sale",
        "condition": rnd.choice(CONDITIONS),
        "sleeve_condition": rnd.choice(SLEEVES),
        "posted": "2025-%02d-%02dT%02d:%02d:00+00:00" % (
            rnd.randint(1, 10), rnd.randint(1, 28), rnd.randint(0, 23),
            rnd.randint(0, 59)),
        "uri": "https://www.discogs.com/sell/item/%d" % lid,
        "resource_url": "https://api.discogs.com/marketplace/listings/%d"
                        % lid,
        "price_value": "%d.%02d" % divmod(cents, 100),
        "price_currency": rnd.choice(["USD", "USD", "EUR", "GBP"]),
        "weight": 230 if primary == "Vinyl" else 100, "format_quantity": 1,
        "location": "DEMO",
        "comments": "Demo record: this shop has no real inventory yet. "
                    + rnd.choice(["Clean copy.", "Light sleeve wear.",
                                  "Plays through, some surface noise.",
                                  "Still sealed."]),
        "release_id": rid, "release_title": title,
        "release_year": rnd.randint(1962, 2024),
        "release_resource_url": "https://api.discogs.com/releases/%d" % rid,
        "release_uri": "https://www.discogs.com/release/%d" % rid,
        "artist_names": artist, "primary_artist": artist,
        "label_names": label, "primary_label": label,
        "format_names": formats, "primary_format": primary,
        "genres": genre, "styles": styles,
        "country": rnd.choice(COUNTRIES),
        "catalog_number": "%s %d" % ("".join(w[0] for w in label.split()),
                                     rnd.randint(100, 9999)),
    }


def main():
    rnd = random.Random(20261123)
    out = csv.DictWriter(sys.stdout, fieldnames=COLUMNS, lineterminator="\n")
    out.writeheader()
    for i in range(1, 301):
        out.writerow(record(rnd, i))


if __name__ == "__main__":
    main()
