# Build stage: compile the catalogs (the build hook) into a wheel.
FROM python:3.11-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir build
COPY pyproject.toml hatch_build.py README.md ./
COPY opsbot ./opsbot
COPY locales ./locales
COPY migrations ./migrations
RUN python -m build --wheel --outdir /wheels

# Run stage: the wheel only, as an unprivileged user.
FROM python:3.11-slim
RUN useradd --create-home --uid 10001 opsbot
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER opsbot
WORKDIR /home/opsbot
ENV OPSBOT_DATABASE_URL=sqlite:////home/opsbot/data/opsbot.sqlite3
RUN mkdir -p /home/opsbot/data
VOLUME ["/home/opsbot/data"]
# `opsbot run` applies the migrations, then runs the bot until SIGTERM.
CMD ["opsbot", "run"]
