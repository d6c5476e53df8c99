"""The sample province: realistic vendor exports for M mines over D days, with labelled episodes.

`generate(OUT_DIR, ...)` writes, deterministically per seed::

    OUT_DIR/                          the landing folder (everything in it is meant to be ingested)
      registry/mines.csv              F.2 (GB18030, CRLF); areas.csv (UTF-8 BOM, CRLF); points, seals, meters.csv
      <mine>/<yyyyMMdd>/              one folder per mine and day
        <mine>_CDDY|FZDY|CDSS|TJSJ|FZSS|YCBJ_<stamp>.txt   B.1 national safety (UTF-8; CDSS one-line in some mines)
        <mine>_AQMC|AQKC|AQSS|AQKD|AQMT_<stamp>.txt        B.2 provincial safety (GB18030, CRLF)
        <mine>_safety_<yyyyMMdd>.csv                        B.3 CSV safety dialect (with CDDY for definitions)
        <mine>_RYQY|RYJZ|RYXX|RYSS|JZSS_<stamp>.txt        C.1 positioning files (UTF-8, CRLF)
        <mine>_video_<yyyyMMdd>.csv                         D.2 (UTF-8 BOM)
        <mine>_explosives_<yyyyMMdd>.csv                    F.1
      meters/greenbutton_<mine>_<yyyyMMdd>.xml             E.1 ESPI Atom feed (uom 72, powerOfTenMultiplier != 0)
      meters/meter_readings_<yyyyMMdd>.csv                 E.2 register readings of all register meters
    OUT_DIR.api/                      REST data for `serve`: manifest.json, positions_<mine>.jsonl (C.2),
                                      cameras_<mine>.json and events_<mine>.jsonl (D.1)
    OUT_DIR.labels.json               episodes (with the G.1 flag codes that report them), mine-days to verify,
                                      benign noise, and the malformed files with their expected handling

Mines cycle through three profiles: national safety + positioning files + video CSV + ESPI meters;
provincial safety + REST positioning + video CSV + register meters; CSV safety + positioning files +
REST video + register meters. `serve(DIR)` runs the vendor API (C.2, D.1) on loopback.
"""

from minewatch.sample.episodes import EPISODE_KINDS
from minewatch.sample.generate import generate
from minewatch.sample.server import DEFAULT_TOKEN, SampleServer, serve

__all__ = ["DEFAULT_TOKEN", "EPISODE_KINDS", "SampleServer", "generate", "serve"]
