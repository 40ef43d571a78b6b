"""Logs (issue 12, item 3): every process writes one JSON object a line, at debug level too,
and no line holds an address, a name or a phone number that passed through the pipeline."""

import json
import uuid

import pytest

from tests.integration.harness import Pipeline, unique_request

pytestmark = pytest.mark.integration


def test_debug_logs_are_json_and_free_of_personal_data(make_pipeline):
    p: Pipeline = make_pipeline(extra_env={"CONSENT_LOG_LEVEL": "debug"})
    tag = uuid.uuid4().hex[:8]
    people = [(f"loggy{i}-{tag}@example.com", f"Lorelei Logsworth{i}{tag}", f"+44 20 7946 {i}{tag}",
               f"{i} Tracing Lane {tag}") for i in range(5)]
    rids = []
    for email, name, phone, address in people:
        p.send("purchase.completed", {"order_id": f"o-{tag}", "email": email, "name": name,
                                      "phone": phone, "address": address})
        p.send("support.message_received", {"ticket_id": f"T-{tag}", "email": email,
                                            "channel": "email",
                                            "text": f"I am {name}, please stop emailing me"})
        rid = unique_request()
        rids.append(rid)
        p.send("mail.requested", {"request_id": rid, "email": email, "purpose": "transactional",
                                  "subject": "Licence", "body": f"Dear {name}"})
    p.producer.send_raw("purchases", b"bad", f'{{"email": "{people[0][0]}"'.encode())
    p.producer.flush()
    for rid in rids:
        p.decision(rid)
    p.wait_rows("SELECT 1 FROM mail_sends WHERE request_id = ANY(%s) AND state = 'sent'", rids,
                count=len(rids), timeout=90)
    secrets = {v for person in people for v in person} | {e.split("@")[0] for e, *_ in people}
    for comp in p.procs.running.values():
        levels = set()
        for line in comp.log_path.read_text(errors="replace").splitlines():
            if not line.strip():
                continue
            doc = json.loads(line)  # every line is one JSON object
            assert {"ts", "level", "logger", "process", "msg"} <= doc.keys()
            levels.add(doc["level"])
            leaked = [s for s in secrets if s in line]
            assert leaked == [], f"{comp.name} logged personal data: {doc['msg'][:200]}"
        assert "debug" in levels, f"{comp.name} did not log at debug level"
