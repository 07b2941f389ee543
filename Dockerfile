# FIXEX exchange image. quickfix compiles from source here (several minutes), and
# so does the matching core's small C extension (setup.py); the build stage keeps
# the compiler out of the runtime image.
FROM python:3.11-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends g++ make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml setup.py README.md ./
COPY config config
COPY matching matching
COPY risk risk
COPY marketdata marketdata
COPY reporting reporting
COPY fix_gateway fix_gateway
RUN python -m venv /opt/fixex && /opt/fixex/bin/pip install --no-cache-dir .

FROM python:3.11-slim
COPY --from=build /opt/fixex /opt/fixex
WORKDIR /app
COPY sessions.cfg ./
COPY config/exchange.yaml config/exchange.yaml
RUN useradd --system --home /app fixex && mkdir -p /app/var && chown fixex /app/var
USER fixex
ENV PATH=/opt/fixex/bin:$PATH PYTHONUNBUFFERED=1
# The shipped config listens on 127.0.0.1; mount a config with fix.host 0.0.0.0 to publish the port.
VOLUME ["/app/var"]
EXPOSE 9876 9877 9878
STOPSIGNAL SIGTERM
ENTRYPOINT ["fixex"]
CMD ["serve", "--config", "/app/config/exchange.yaml"]
