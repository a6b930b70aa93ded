# syntax=docker/dockerfile:1
# recsys as one image for every role (`serve`, `stream`, `scheduler`, and the one-off commands):
#
#   docker build -t recsys .
#   docker run --rm recsys --help
#
# Stage `build` compiles the three parts `npm run build` makes (Rust napi-rs addon, AssemblyScript
# wasm, TypeScript); stage `runtime` holds only what `node bin/recsys.js` reads at run time. Both
# are Debian bookworm (glibc): uWebSockets.js (an npm alias in package.json) ships glibc binaries
# only, and the addon is built against the same glibc it runs on. test/deploy/compose.test.ts
# checks this file against docker-compose.yml and the paths the code looks its files up at.

ARG NODE_VERSION=20
ARG RUST_VERSION=1

# The Rust toolchain, copied into the Node image below (both are Debian bookworm).
FROM rust:${RUST_VERSION}-slim-bookworm AS rust

FROM node:${NODE_VERSION}-bookworm AS build
COPY --from=rust /usr/local/cargo /usr/local/cargo
COPY --from=rust /usr/local/rustup /usr/local/rustup
ENV CARGO_HOME=/usr/local/cargo RUSTUP_HOME=/usr/local/rustup PATH=/usr/local/cargo/bin:$PATH
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# Each part in its own layer, the slowest (Rust) first, so a TypeScript change rebuilds only itself.
COPY native ./native
RUN npm run build:native
COPY assembly ./assembly
RUN npm run build:wasm
COPY tsconfig.json ./
COPY bin ./bin
COPY workers ./workers
COPY src ./src
RUN npm run build:ts
RUN npm prune --omit=dev --no-audit --no-fund

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# package.json marks the root: migrations/, assembly/ and native/ are looked up beside it
# (src/stores/relational/migrate.ts, src/compute/wasm.ts, src/compute/native.ts, which also
# wants native/Cargo.toml there).
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/bin ./bin
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/dist/workers ./dist/workers
COPY --from=build /src/native/Cargo.toml /src/native/*.node ./native/
COPY --from=build /src/assembly/build/recsys.wasm ./assembly/build/
COPY migrations ./migrations
# Embedded mode (`recsys start`) writes here; the services mode writes nothing locally.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
# 8080: `recsys serve --port 8080`; 9465: `recsys stream`'s ops port (RECSYS_STREAM_PORT).
EXPOSE 8080 9465
ENTRYPOINT ["node", "bin/recsys.js"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]
