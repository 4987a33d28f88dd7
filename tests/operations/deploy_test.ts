/**
 * The deployment files (issue 15), validated offline: the Dockerfile and
 * .dockerignore for what the issue asks of them (pinned base, cache warmed at
 * build, non-root, exec-form entrypoint running the start task's own flags,
 * HEALTHCHECK on /healthz), with the image's commands run for real outside a
 * container; compose.yaml by Debian's `docker-compose config -q` (no daemon)
 * and for its wiring; the Kubernetes manifests against the real schemas of
 * the `kubernetes-models` and `@kubernetes-models/prometheus-operator` npm
 * packages; the generated files equal to what `deno task deploy:generate`
 * writes; every Prometheus configuration by promtool.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadPackage } from "../http/_frameworks.ts";
import { probeTool, skipWithout } from "../_support/tools.ts";
import { promtoolSkip } from "../_support/promtool.ts";
import { REPO_ROOT, startTaskFlags } from "../app/_support.ts";
import { generated, ruleFiles } from "../../deploy/generate.ts";
import { withTempDir, withTempDirAsync } from "./_temp.ts";

type Obj = Record<string, unknown>;

function read(path: string): string {
  return readFileSync(join(REPO_ROOT, path), "utf8");
}

function list(path: string): string[] {
  return readdirSync(join(REPO_ROOT, path), { withFileTypes: true })
    .filter((e) => e.isFile()).map((e) => e.name);
}

/** The rule files prometheus.yml loads (rules/*.yml). */
const RULE_FILES = ruleFiles(list("rules"));

/** A YAML file (one document or several), parsed by the `yaml` npm package. */
async function yamlDocs(text: string): Promise<Obj[]> {
  const { parseAllDocuments } = await loadPackage("yaml", "npm:yaml@2.8.2") as {
    parseAllDocuments(text: string): { toJS(): unknown; errors: unknown[] }[];
  };
  return parseAllDocuments(text).map((d) => {
    assert.deepEqual(d.errors, []);
    return d.toJS() as Obj;
  });
}

/** The Dockerfile's instructions: [keyword, arguments], continuation lines joined. */
function dockerInstructions(text: string): [string, string][] {
  const out: [string, string][] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (pending === "" && (line === "" || line.startsWith("#"))) continue;
    if (line.endsWith("\\")) {
      pending += line.slice(0, -1) + " ";
      continue;
    }
    const full = pending + line;
    pending = "";
    const at = full.indexOf(" ");
    out.push([full.slice(0, at).toUpperCase(), full.slice(at + 1).trim()]);
  }
  return out;
}

describe("Dockerfile and .dockerignore", () => {
  const instructions = dockerInstructions(read("Dockerfile"));
  const all = (keyword: string) => instructions.filter(([k]) => k === keyword).map(([, a]) => a);

  it("a pinned Deno base image: the version the project is tested with", () => {
    assert.deepEqual(all("FROM"), ["denoland/deno:debian-2.9.6"]);
    assert.match(read(".ci/run"), /deno@2\.9\.6/);
  });

  it("exec-form ENTRYPOINT: deno run with exactly the start task's flags, main.ts, no -A", () => {
    const [entry] = all("ENTRYPOINT");
    const argv = JSON.parse(entry) as string[];
    const flags = startTaskFlags(read("deno.json"));
    assert.deepEqual(argv, ["deno", "run", ...flags, "main.ts"]);
    assert.ok(!argv.includes("-A") && !argv.includes("--allow-all"));
    assert.equal(all("CMD").length, 0, "no CMD to turn the entrypoint into a shell");
  });

  it("non-root USER before the entrypoint, port 8000, HEALTHCHECK on /healthz", () => {
    const keywords = instructions.map(([k]) => k);
    assert.deepEqual(all("USER"), ["deno"]);
    assert.ok(keywords.indexOf("USER") < keywords.indexOf("ENTRYPOINT"));
    assert.deepEqual(all("EXPOSE"), ["8000"]);
    const [health] = all("HEALTHCHECK");
    const cmd = JSON.parse(health.slice(health.indexOf("CMD ") + 4)) as string[];
    assert.deepEqual(cmd.slice(0, 2), ["deno", "eval"]);
    assert.match(cmd[2], /\/healthz/);
  });

  it("the dependency cache is warmed at build time, after the sources are copied", () => {
    const keywords = instructions.map(([k]) => k);
    const run = all("RUN").find((r) => r.startsWith("deno cache")) ?? "";
    assert.match(
      run,
      /^deno cache --frozen main\.ts app\/thread\.ts app\/worker\.ts demo\/main\.ts/,
    );
    assert.ok(keywords.lastIndexOf("COPY") < keywords.indexOf("RUN"));
  });

  it(".dockerignore lets in only what the image copies", () => {
    const lines = read(".dockerignore").split("\n").filter((l) => l && !l.startsWith("#"));
    assert.deepEqual(lines, [
      "*",
      "!deno.json",
      "!deno.lock",
      "!main.ts",
      "!app/",
      "!src/",
      "!demo/",
    ]);
    const copied = all("COPY").flatMap((a) => a.split(/\s+/).slice(0, -1));
    for (const c of copied) assert.ok(lines.includes(`!${c}`), `${c} is copied but ignored`);
  });

  it(
    "its commands work: the cache warms into a fresh DENO_DIR, the entrypoint serves, the healthcheck passes",
    {
      skip: !("Deno" in globalThis) && "runs the image's deno commands; run under deno test",
      timeout: 180_000,
    },
    async () => {
      const denoPath = (globalThis as { Deno?: typeof Deno }).Deno!.execPath();
      await withTempDirAsync(async (dir) => {
        const env = { ...process.env, DENO_DIR: join(dir, "deno-dir"), NO_COLOR: "1" };
        const run = all("RUN").find((r) => r.startsWith("deno cache"))!.split("&&")[0].trim();
        const cached = spawnSync(denoPath, run.split(/\s+/).slice(1), { cwd: REPO_ROOT, env });
        assert.equal(cached.status, 0, String(cached.stderr));
        assert.ok(readdirSync(join(dir, "deno-dir")).length > 0, "nothing cached");
        const argv = JSON.parse(all("ENTRYPOINT")[0]) as string[];
        const port = String(20_000 + Math.floor(Math.random() * 20_000));
        const server = new Deno.Command(denoPath, {
          args: [...argv.slice(1), "--workers", "1"],
          cwd: REPO_ROOT,
          env: { DENO_DIR: env.DENO_DIR, NO_COLOR: "1", HOSTNAME: "127.0.0.1", PORT: port },
          clearEnv: true,
          stdout: "null",
          stderr: "piped",
        }).spawn();
        try {
          const [health] = all("HEALTHCHECK");
          const cmd = JSON.parse(health.slice(health.indexOf("CMD ") + 4)) as string[];
          let ok = false;
          const end = Date.now() + 60_000;
          while (!ok && Date.now() < end) {
            const r = spawnSync(denoPath, cmd.slice(1), { env: { ...env, PORT: port } });
            ok = r.status === 0;
            if (!ok) await new Promise((r) => setTimeout(r, 200));
          }
          assert.ok(ok, "the HEALTHCHECK command never passed");
        } finally {
          server.kill("SIGTERM");
          const status = await server.status;
          await server.stderr.cancel();
          assert.equal(status.code, 0, "SIGTERM: exit 0");
        }
      });
    },
  );
});

const composeMissing = probeTool("docker-compose", ["version"]);

describe("compose.yaml", () => {
  it("passes `docker-compose config -q` (offline, no daemon), with and without the demo profile", {
    skip: skipWithout(composeMissing),
    timeout: 120_000,
  }, () => {
    for (const extra of [[], ["--profile", "demo"]]) {
      const r = spawnSync("docker-compose", ["-f", "compose.yaml", ...extra, "config", "-q"], {
        cwd: REPO_ROOT,
        encoding: "utf8",
        timeout: 120_000,
      });
      assert.equal(r.status, 0, `${extra.join(" ")}: ${r.stdout}${r.stderr}`);
    }
  });

  it("securetrack on 8000 with the token secret; Prometheus and Grafana on the repository's files", async () => {
    const [compose] = await yamlDocs(read("compose.yaml"));
    const services = compose.services as Record<string, Obj>;
    const st = services.securetrack;
    assert.ok((st.ports as string[]).some((p) => p.startsWith("8000:8000")));
    assert.deepEqual(st.secrets, ["metrics_token"]);
    assert.equal((st.environment as Obj).METRICS_AUTH_TOKEN_FILE, "/run/secrets/metrics_token");
    assert.equal(st.read_only, true);
    const prom = services.prometheus;
    assert.equal(prom.network_mode, "service:securetrack");
    assert.deepEqual(prom.secrets, ["metrics_token"]);
    assert.ok((prom.volumes as string[]).includes(
      "./deploy/compose/prometheus.yml:/etc/prometheus/prometheus.yml:ro",
    ));
    assert.ok((prom.volumes as string[]).includes("./rules:/etc/prometheus/rules:ro"));
    const grafana = services.grafana;
    assert.ok((grafana.volumes as string[]).includes(
      "./grafana/provisioning:/etc/grafana/provisioning:ro",
    ));
    // The dashboards where grafana/provisioning/dashboards/securetrack.yml looks for them.
    const provider = read("grafana/provisioning/dashboards/securetrack.yml");
    const path = /path: (\S+)/.exec(provider)?.[1];
    assert.ok((grafana.volumes as string[]).includes(`./grafana/dashboards:${path}:ro`));
    assert.deepEqual(services.demo.profiles, ["demo"]);
    assert.match((services.demo.command as string[]).join(" "), /--url http:\/\/127\.0\.0\.1:8000/);
    assert.deepEqual(Object.keys(compose.secrets as Obj), ["metrics_token"]);
    // Images pinned to a version, never latest.
    for (const [name, s] of Object.entries(services)) {
      if (typeof s.image === "string" && !s.image.startsWith("securetrack-metrics")) {
        assert.match(s.image, /:v?\d+\.\d+\.\d+$/, name);
      }
    }
  });
});

describe("generated files (deno task deploy:generate)", () => {
  it("the committed files equal what the task writes", () => {
    for (const [path, text] of generated(read, list)) assert.equal(read(path), text, path);
  });

  it("the PrometheusRule holds exactly the groups of rules/, in order", async () => {
    const [rule] = await yamlDocs(read("deploy/kubernetes/prometheusrule.yaml"));
    const groups: unknown[] = [];
    for (const file of RULE_FILES) groups.push(...((await yamlDocs(read(file)))[0].groups as []));
    assert.deepEqual((rule.spec as Obj).groups, groups);
    assert.ok(groups.length > 0);
  });

  it("compose's prometheus.yml is prometheus.yml with the token read from the secret", async () => {
    const [base] = await yamlDocs(read("prometheus.yml"));
    const [derived] = await yamlDocs(read("deploy/compose/prometheus.yml"));
    const jobs = derived.scrape_configs as Obj[];
    for (const j of jobs) {
      assert.deepEqual(j.authorization, {
        type: "Bearer",
        credentials_file: "/run/secrets/metrics_token",
      });
      delete j.authorization;
    }
    assert.deepEqual(derived, base);
  });
});

describe("Prometheus configurations pass promtool check config", () => {
  const check = (text: string, dir: string) => {
    const token = join(dir, "token");
    writeFileSync(token, "a-token\n");
    const cfg = join(dir, "prometheus.yml");
    writeFileSync(
      cfg,
      text.replaceAll(/credentials_file: \S+/g, `credentials_file: ${token}`)
        .replace('"rules/*.yml"', JSON.stringify(join(REPO_ROOT, "rules/*.yml"))),
    );
    const r = spawnSync("promtool", ["check", "config", cfg], { encoding: "utf8" });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    return `${r.stdout}${r.stderr}`;
  };

  it("deploy/compose/prometheus.yml, with its rules", { skip: promtoolSkip }, () => {
    withTempDir((dir) => {
      const out = check(read("deploy/compose/prometheus.yml"), dir);
      assert.match(out, new RegExp(`SUCCESS: ${RULE_FILES.length} rule files found`));
      assert.ok(RULE_FILES.length >= 3, RULE_FILES.join(" "));
    });
  });

  it(
    "deploy/kubernetes/prometheus-scrape-config.yml (kubernetes_sd_configs as static_configs: Debian's promtool has no Kubernetes discovery)",
    {
      skip: promtoolSkip,
    },
    () => {
      withTempDir((dir) => {
        const text = read("deploy/kubernetes/prometheus-scrape-config.yml");
        const sd = /^ {4}kubernetes_sd_configs:\n {6}- role: pod$/gm;
        assert.equal(text.match(sd)?.length, 2);
        check(text.replace(sd, '    static_configs:\n      - targets: ["127.0.0.1:8000"]'), dir);
      });
    },
  );
});

describe("Kubernetes manifests against the kubernetes-models schemas", () => {
  const models = async () => ({
    Deployment: (await loadPackage(
      "kubernetes-models/apps/v1/Deployment",
      "npm:kubernetes-models@5.1.0/apps/v1/Deployment",
    ) as { Deployment: new (o: Obj) => { validate(): void } }).Deployment,
    Service: (await loadPackage(
      "kubernetes-models/v1/Service",
      "npm:kubernetes-models@5.1.0/v1/Service",
    ) as { Service: new (o: Obj) => { validate(): void } }).Service,
    ServiceMonitor: (await loadPackage(
      "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor",
      "npm:@kubernetes-models/prometheus-operator@6.0.0/monitoring.coreos.com/v1/ServiceMonitor",
    ) as { ServiceMonitor: new (o: Obj) => { validate(): void } }).ServiceMonitor,
    PrometheusRule: (await loadPackage(
      "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule",
      "npm:@kubernetes-models/prometheus-operator@6.0.0/monitoring.coreos.com/v1/PrometheusRule",
    ) as { PrometheusRule: new (o: Obj) => { validate(): void } }).PrometheusRule,
  });
  const FILES: [string, "Deployment" | "Service" | "ServiceMonitor" | "PrometheusRule"][] = [
    ["deploy/kubernetes/deployment.yaml", "Deployment"],
    ["deploy/kubernetes/service.yaml", "Service"],
    ["deploy/kubernetes/servicemonitor.yaml", "ServiceMonitor"],
    ["deploy/kubernetes/prometheusrule.yaml", "PrometheusRule"],
  ];

  it("every manifest validates, and the validator rejects a broken one", async () => {
    const m = await models();
    for (const [file, kind] of FILES) {
      const [doc] = await yamlDocs(read(file));
      assert.equal(doc.kind, kind, file);
      new m[kind](doc).validate();
    }
    const [dep] = await yamlDocs(read("deploy/kubernetes/deployment.yaml"));
    (dep.spec as Obj).replicas = "3";
    assert.throws(() => new m.Deployment(dep).validate(), /replicas/);
  });

  it("the Deployment: replicas, probes on /healthz, resources, non-root, read-only root, token from a Secret", async () => {
    const [dep] = await yamlDocs(read("deploy/kubernetes/deployment.yaml"));
    const spec = dep.spec as Obj;
    assert.ok((spec.replicas as number) > 1);
    const pod = (spec.template as Obj).spec as Obj;
    assert.equal((pod.securityContext as Obj).runAsNonRoot, true);
    const [c] = pod.containers as Obj[];
    for (const probe of ["livenessProbe", "readinessProbe"]) {
      assert.equal(((c[probe] as Obj).httpGet as Obj).path, "/healthz", probe);
    }
    assert.ok((c.resources as Obj).requests && (c.resources as Obj).limits);
    assert.equal((c.securityContext as Obj).readOnlyRootFilesystem, true);
    assert.equal((c.securityContext as Obj).allowPrivilegeEscalation, false);
    const env = new Map((c.env as Obj[]).map((e) => [e.name, e.value]));
    const tokenFile = env.get("METRICS_AUTH_TOKEN_FILE") as string;
    const mount = (c.volumeMounts as Obj[]).find((v) => tokenFile.startsWith(`${v.mountPath}/`));
    assert.ok(mount, "the token file is on a mounted volume");
    const volume = (pod.volumes as Obj[]).find((v) => v.name === mount.name) as Obj;
    assert.equal((volume.secret as Obj).secretName, "securetrack-metrics-token");
    // The scrape annotations of the plain alternative.
    const annotations = (spec.template as Obj).metadata as Obj;
    assert.equal((annotations.annotations as Obj)["prometheus.io/scrape"], "true");
    // The Service and the ServiceMonitor select these pods, by the same label.
    const labels = ((spec.template as Obj).metadata as Obj).labels as Obj;
    const [svc] = await yamlDocs(read("deploy/kubernetes/service.yaml"));
    for (const [k, v] of Object.entries((svc.spec as Obj).selector as Obj)) {
      assert.equal(labels[k], v);
    }
  });

  it("the ServiceMonitor scrapes both paths as the jobs the rules and dashboards select", async () => {
    const [sm] = await yamlDocs(read("deploy/kubernetes/servicemonitor.yaml"));
    const endpoints = (sm.spec as Obj).endpoints as Obj[];
    assert.deepEqual(
      endpoints.map((e) => [e.path, (e.relabelings as Obj[])[0].replacement]),
      [["/metrics", "securetrack"], ["/custom_metrics", "securetrack-custom"]],
    );
    const [prom] = await yamlDocs(read("prometheus.yml"));
    assert.deepEqual(
      (prom.scrape_configs as Obj[]).map((j) => [j.metrics_path, j.job_name]),
      [["/metrics", "securetrack"], ["/custom_metrics", "securetrack-custom"]],
    );
  });
});
