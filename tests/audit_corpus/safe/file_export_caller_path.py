"""Exports to a path the caller chooses: a one-off output file, nobody else reads it while
it is written. The audit reports these only as info (hidden by default)."""

import csv
import json
import os

import yaml


def export_configuration(path, config):
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(config, handle)


def export_history(entries, output_dir):
    target = os.path.join(output_dir, "history.json")
    with open(target, "w") as handle:
        json.dump(entries, handle)


class Report:
    def save_html(self, path):
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("<html></html>")

    def to_csv(self, rows, filepath=None):
        with open(filepath, "w", newline="") as handle:
            csv.writer(handle).writerows(rows)
