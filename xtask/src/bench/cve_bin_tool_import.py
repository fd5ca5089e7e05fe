"""cargo xtask bench vuln: fill cve-bin-tool's own CVE database from local files, offline.

Our driver (consign's xtask), not part of cve-bin-tool: cve-bin-tool 3.4 only fills its database
over the network, so this feeds the bench's generated NVD CVE 2.0 feeds to its own code instead:

- each feed's `vulnerabilities` items go through `NVD_Source.format_data_api2` (cve-bin-tool's
  parser for NVD API 2.0 items) and its rows are stored by `CVEDB.populate_db` (which calls
  `populate_severity`, `populate_cve_metrics` and `populate_affected`), one feed at a time, as
  its NVD source would after a download;
- the KEV catalogue goes through `CVEDB.update_exploits`, cve-bin-tool's KEV loader, with only its
  download (`make_http_requests`, which fetches cisa.gov) answered from the local file.

The database is the one `CVEDB()` opens: `$HOME/.cache/cve-bin-tool/cve.db`, HOME being a folder
under target/bench that the bench empties before each run.

usage: python cve_bin_tool_import.py KEV_JSON FEED...  (NVD CVE 2.0 feeds, .json or .json.gz)
prints one JSON line: {"records": N, "severity_rows": N, "range_rows": N, "exploited_rows": N}
"""

import gzip
import json
import sqlite3
import sys

from cve_bin_tool import cvedb as cvedb_module
from cve_bin_tool.cvedb import CVEDB
from cve_bin_tool.data_sources.nvd_source import NVD_Source


def main(kev_path, feeds):
    db = CVEDB(sources=[])
    db.cachedir.mkdir(parents=True, exist_ok=True)
    db.init_database()
    nvd = NVD_Source(nvd_type="api2")
    records = 0
    for feed in feeds:
        opener = gzip.open if feed.endswith(".gz") else open
        with opener(feed, "rb") as stream:
            items = json.load(stream)["vulnerabilities"]
        records += len(items)
        db.data = [(nvd.format_data_api2(items), nvd.source_name)]
        db.populate_db()
    db.data = []

    with open(kev_path, "rb") as stream:
        kev = json.load(stream)

    def local_catalogue(kind, url, timeout):
        if kind != "json" or "known_exploited_vulnerabilities" not in url:
            raise RuntimeError(f"unexpected download in an offline bench: {url}")
        return kev

    cvedb_module.make_http_requests = local_catalogue
    db.create_exploit_db()
    db.update_exploits()

    connection = sqlite3.connect(db.dbpath)
    count = lambda table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    print(
        json.dumps(
            {
                "records": records,
                "severity_rows": count("cve_severity"),
                "range_rows": count("cve_range"),
                "exploited_rows": count("cve_exploited"),
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: cve_bin_tool_import.py KEV_JSON FEED...")
    main(sys.argv[1], sys.argv[2:])
