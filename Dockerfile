# Builds the single Faultline binary and runs it on a slim image.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --bin faultline

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/faultline /usr/local/bin/faultline
ENV FAULTLINE_BIND=0.0.0.0:8000
# mimalloc returns freed memory to the system at once instead of caching it (README "Hostile clients").
ENV MIMALLOC_PURGE_DELAY=0
EXPOSE 8000
ENTRYPOINT ["faultline"]
CMD ["serve"]
