# Build stage: compile the catalogs (the build hook) into a wheel, with pinned build tools.
FROM python:3.13-slim AS build
WORKDIR /src
COPY constraints.txt ./
RUN pip install --no-cache-dir -c constraints.txt build hatchling babel
COPY pyproject.toml hatch_build.py README.md ./
COPY opsbot ./opsbot
COPY locales ./locales
COPY migrations ./migrations
RUN python -m build --wheel --no-isolation --outdir /wheels

# Run stage: the wheel and the pinned dependencies only, as an unprivileged user.
FROM python:3.13-slim
RUN useradd --create-home --uid 10001 opsbot
COPY --from=build /wheels /wheels
COPY constraints.txt /tmp/constraints.txt
RUN pip install --no-cache-dir -c /tmp/constraints.txt /wheels/*.whl \
    && rm -rf /wheels /tmp/constraints.txt
USER opsbot
WORKDIR /home/opsbot
ENV OPSBOT_DATABASE_URL=sqlite:////home/opsbot/data/opsbot.sqlite3
RUN mkdir -p /home/opsbot/data
VOLUME ["/home/opsbot/data"]
# Unhealthy when Telegram has not answered the bot for 3 minutes or X for 15 (the heartbeat
# the bot keeps in its database); the start period covers migrations and the first poll.
HEALTHCHECK --interval=60s --timeout=15s --start-period=120s --retries=3 CMD ["opsbot", "health"]
# `opsbot run` applies the migrations, then runs the bot until SIGTERM.
CMD ["opsbot", "run"]
