"""Send Segment calls with the real segment-analytics-python SDK.

Usage: python send_python.py HOST WRITE_KEY [--gzip] < calls.json

calls.json is a list of {"call": "identify|track|page|screen|group|alias", ...} objects
using the SDK's own argument names (user_id, anonymous_id, event, name, properties, traits,
previous_id, group_id, timestamp as RFC 3339). Exits 1 if the SDK reports any error.
"""
import json
import sys
from datetime import datetime

import segment.analytics as sa

host, write_key = sys.argv[1], sys.argv[2]
errors = []
client = sa.Client(write_key=write_key, host=host, sync_mode=True, gzip="--gzip" in sys.argv,
                   on_error=lambda e, batch: errors.append(e))
for c in json.load(sys.stdin):
    call = c.pop("call")
    if "timestamp" in c:
        c["timestamp"] = datetime.fromisoformat(c["timestamp"].replace("Z", "+00:00"))
    try:
        if call == "alias":
            client.alias(c["previous_id"], c["user_id"])
        else:
            getattr(client, call)(**c)
    except Exception as e:  # sync mode raises instead of calling on_error
        errors.append(e)
if errors:
    print("errors: %r" % errors, file=sys.stderr)
    sys.exit(1)
