# The SecureTrack metrics exporter as a container image.
#
#   docker build -t securetrack-metrics .
#   docker run --rm -p 8000:8000 --read-only securetrack-metrics
#
# Validated offline by tests/operations/container_test.ts (the flags below are the start task's,
# word for word); not built on the machines that run the tests (no container runtime there).

# Pinned: the Deno the project is tested with (deno.json, .ci/run), on Debian.
FROM denoland/deno:debian-2.9.6

WORKDIR /app
# Only what the server loads (.dockerignore keeps out tests, benchmarks, dashboards) and demo/,
# for compose's optional demo traffic.
COPY deno.json deno.lock main.ts ./
COPY app/ app/
COPY src/ src/
COPY demo/ demo/

# Warm the dependency cache at build time: every module the server and its threads load is
# compiled into DENO_DIR (/deno-dir) now, so the container reads it and never writes it, and the
# root file system can be read-only. --frozen: the lock file must already be right.
RUN deno cache --frozen main.ts app/thread.ts app/worker.ts demo/main.ts \
  && chmod -R a+rX /deno-dir /app

# The image's unprivileged user (uid 1993), never root.
USER deno

ENV HOSTNAME=0.0.0.0 \
    PORT=8000 \
    DENO_NO_UPDATE_CHECK=1 \
    NO_COLOR=1
EXPOSE 8000

# /healthz answers without a token. deno eval has no permission flags to give and fetches
# only the loopback address; PORT as the server reads it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["deno", "eval", "const r = await fetch(`http://127.0.0.1:${Deno.env.get('PORT') ?? '8000'}/healthz`); Deno.exit(r.ok ? 0 : 1)"]

# Exec form: deno (main.ts) is PID 1 and gets docker stop's SIGTERM itself, drains in-flight
# requests (at most 10 s, under docker stop's default 10 s grace: raise it with -t 15 or
# stop_grace_period) and exits 0. The start task's flags, not -A: see deno.json.
ENTRYPOINT ["deno", "run", "--no-prompt", "--unstable-net", "--allow-net", "--allow-read=app,src,/run/secrets", "--allow-env=PORT,HOSTNAME,METRICS_AUTH_TOKEN,METRICS_AUTH_TOKEN_FILE,WORKERS,DENO_JOBS,DEMO,NATIVE_HISTOGRAMS,INGEST_TOKENS,INGEST_TOKENS_FILE,LLM_BASE_URL,LLM_API_KEY,LLM_MODEL,GATEWAY_UPSTREAM_URL,GATEWAY_UPSTREAM_API_KEY,GATEWAY_UPSTREAM_API_KEY_FILE,GATEWAY_KEYS,GATEWAY_KEYS_FILE,GATEWAY_TIMEOUT_MS,GATEWAY_MAX_BODY_BYTES", "main.ts"]
