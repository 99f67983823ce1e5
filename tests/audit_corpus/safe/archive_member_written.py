"""A report written as a member of a zip archive being built: the archive's own open,
not a file others read while it is written."""

import json
import zipfile


def bundle(path, report):
    with zipfile.ZipFile(path + ".partial", "w") as archive:
        with archive.open("new_report.json", "w") as member:
            member.write(json.dumps(report).encode())
