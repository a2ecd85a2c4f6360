# Charter: one image holding all four services, charterctl and the shipped
# policies.
#
# Stage "build" compiles the project in Release mode with Debian 12's own
# -dev packages; stage "runtime" carries only the shared libraries those
# binaries load, the tz database the policies' time zones are read from,
# curl for container healthchecks, the five shipped policies in
# /usr/share/charter/policies (point sla.policy_dir at them, or mount your
# own; see docs/production.md), and a non-root "charter" user. Which service
# a container runs is chosen by its command, e.g.
#   docker run --rm charter:local charter-ingest --config /etc/charter/ingest.conf
# With no command the image prints each service's --help.

FROM debian:12-slim AS build

ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      libevent-dev librdkafka-dev libprotobuf-c-dev protobuf-c-compiler \
      libhiredis-dev libjansson-dev libyaml-dev libcurl4-openssl-dev \
      libssl-dev libcmocka-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \
 && cmake --build build -j"$(nproc)" \
 && mkdir -p /out \
 && install -m 0755 \
      build/services/ingest/charter-ingest \
      build/services/sla-timer/charter-sla-timer \
      build/services/notification/charter-notification \
      build/services/reporting/charter-reporting \
      build/tools/charterctl/charterctl \
      /out/


FROM debian:12-slim AS runtime

ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libevent-2.1-7 libevent-pthreads-2.1-7 librdkafka1 libprotobuf-c1 \
      libhiredis0.14 libjansson4 libyaml-0-2 libcurl4 libssl3 \
      ca-certificates curl tzdata \
 && rm -rf /var/lib/apt/lists/*

# System user and the notification outbox and print queue. The uid and gid
# are fixed (10001) so that a file mounted from the host can be given to the
# service and nobody else: the gateways file is "chown 10001:10001, chmod
# 600" (docker-compose.yml). The directories exist in the image so that a
# named volume mounted on them starts out owned by charter.
RUN groupadd --system --gid 10001 charter \
 && useradd --system --uid 10001 --gid charter --home-dir /var/lib/charter \
      --no-create-home --shell /usr/sbin/nologin charter \
 && install -d -o charter -g charter -m 0750 /var/lib/charter /var/lib/charter/outbox \
      /var/lib/charter/print

COPY --from=build /out/ /usr/local/bin/

# The five shipped charters (docs/policies.md), owned by root so the services
# only read them: sla-timer's sla.policy_dir (docker-compose.yml sets
# CHARTER_SLA_POLICY_DIR to this directory; mount your own over it or beside it).
COPY policies/ /usr/share/charter/policies/
# The notification templates (templates/README.md): notify.template_dir.
COPY templates/ /usr/share/charter/templates/

USER charter:charter
WORKDIR /var/lib/charter

# Default http.listen ports: ingest, reporting, sla-timer, notification.
# Inside a container set http.listen to 0.0.0.0:PORT (CHARTER_HTTP_LISTEN).
EXPOSE 8080 8081 8082 8083

# Services exit cleanly on SIGTERM (flush producer, commit offsets).
STOPSIGNAL SIGTERM

CMD ["/bin/sh", "-c", "echo 'Charter image. Run one of: charter-ingest, charter-sla-timer, charter-notification, charter-reporting [--config FILE]'; for s in ingest sla-timer notification reporting; do echo; echo \"== charter-$s --help\"; charter-$s --help; done"]
