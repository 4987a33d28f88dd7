// A prom-client 15 program, as its README teaches it. Only the import line
// differs from the original (`from "prom-client"`); example_test.ts runs it
// on Deno and Bun, and once against the real prom-client to show it is one.
//
// Usage: <runtime> _example.ts <pushgateway url>
// Prints register.metrics() to stdout, then pushes to the gateway.
import process from "node:process";
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Pushgateway,
  register,
  Summary,
} from "../../src/compat/mod.ts";

collectDefaultMetrics({ prefix: "", labels: { app: "example" } });

const requests = new Counter({
  name: "http_requests_total",
  help: "HTTP requests",
  labelNames: ["method", "code"],
});
requests.inc({ method: "GET", code: "200" });
requests.labels("POST", "201").inc(2);

const inFlight = new Gauge({
  name: "jobs_in_flight",
  help: "Jobs in flight",
  labelNames: ["queue"],
});
inFlight.set({ queue: "mail" }, 3);
inFlight.labels("mail").dec();
inFlight.inc({ queue: "sms" });

const latency = new Histogram({
  name: "http_request_duration_seconds",
  help: "Request latency",
  labelNames: ["route"],
  buckets: [0.1, 0.5, 1, 2.5],
});
latency.observe({ route: "/users" }, 0.3);
latency.labels("/orders").observe(1.7);
const end = latency.startTimer({ route: "/health" });
end();

const sizes = new Summary({
  name: "response_size_bytes",
  help: "Response sizes",
  labelNames: ["route"],
  percentiles: [0.5, 0.9, 0.99],
});
for (const size of [120, 340, 560, 780, 900]) sizes.observe({ route: "/users" }, size);

console.log(await register.metrics());

const gateway = new Pushgateway(process.argv[2], {}, register);
await gateway.pushAdd({ jobName: "example", groupings: { instance: "a/b" } });
await gateway.push({ jobName: "example" });
await gateway.delete({ jobName: "example" });
console.error("pushed");
