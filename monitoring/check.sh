#!/usr/bin/env bash
# Checks monitoring/ with Prometheus' own promtool (Debian's `prometheus` package): the scrape
# configuration, the alert rules, their unit tests, and every PromQL query of the Grafana
# dashboards (each checked as a recording rule, with Grafana's $__rate_interval as 1m).
# test/ops/monitoring.e2e.test.ts checks that the metrics they query exist.
set -euo pipefail
cd "$(dirname "$0")"
promtool check config prometheus/prometheus.yml
promtool check rules prometheus/rules/*.yml
promtool test rules prometheus/tests/*.yml
queries=$(mktemp --suffix=.yml)
trap 'rm -f "$queries"' EXIT
# JSON is YAML: one rule group holding each panel query of each dashboard.
node -e '
  const fs = require("node:fs");
  const dir = "grafana/dashboards/";
  const rules = [];
  for (const file of fs.readdirSync(dir)) {
    for (const panel of JSON.parse(fs.readFileSync(dir + file, "utf8")).panels ?? []) {
      for (const target of panel.targets ?? []) {
        const expr = target.expr.replaceAll("$__rate_interval", "1m");
        rules.push({ record: `dashboard:query_${rules.length + 1}`, expr });
      }
    }
  }
  console.log(JSON.stringify({ groups: [{ name: "dashboard-queries", rules }] }));
' > "$queries"
echo "Checking the dashboards' queries"
promtool check rules "$queries"
