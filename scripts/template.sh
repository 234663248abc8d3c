#!/usr/bin/env bash
# Generates the project template as cargo-generate would, without cargo-generate, and
# optionally tests the result against this workspace:
#
#   scripts/template.sh generate DEST [NAME]   # NAME defaults to durable-orders
#   scripts/template.sh check                  # what scripts/test.sh runs
#
# generate: copies templates/durable-function to DEST (which must not exist) and fills the
#   two placeholders the template uses, exactly as cargo-generate fills them:
#   {{project-name}} -> NAME (kebab-case) and {{crate_name}} -> NAME with `-` as `_`.
#   cargo-generate.toml (cargo-generate's own config, which it does not copy) is left out.
#   It fails if any `{{` or `{%` is left, so a placeholder added to the template without
#   being added here is caught. (cargo-generate itself takes minutes to build, so the test
#   command does not install it; `cargo generate --path templates/durable-function` gives the
#   same files.)
# check: generates into a temp dir, points the durable-* dependencies at this workspace by
#   path (they are not on crates.io yet), copies the workspace's Cargo.lock (same dependency
#   versions) and the workspace's dev profile, so the workspace target dir's artifacts are
#   reused (CARGO_TARGET_DIR is shared; crates whose features differ in the smaller graph
#   are still built again), runs the generated crate's tests and removes the temp dir.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TEMPLATE=$ROOT/templates/durable-function

generate() {  # generate DEST NAME
  local dest=$1 name=$2 crate file
  if [[ ! $name =~ ^[a-z][a-z0-9-]*$ ]]; then
    echo "template.sh: project name must be kebab-case ([a-z][a-z0-9-]*), got '$name'" >&2
    return 2
  fi
  if [[ -e $dest ]]; then
    echo "template.sh: $dest already exists" >&2
    return 2
  fi
  crate=${name//-/_}
  mkdir -p "$dest"
  (cd "$TEMPLATE" && tar --exclude=./cargo-generate.toml --exclude=./target -cf - .) \
    | (cd "$dest" && tar -xf -)
  while IFS= read -r -d '' file; do
    sed -i -e "s/{{project-name}}/$name/g" -e "s/{{crate_name}}/$crate/g" "$file"
  done < <(find "$dest" -type f -print0)
  if grep -rn -e '{{' -e '{%' "$dest"; then
    echo "template.sh: unfilled placeholders above (add them to scripts/template.sh)" >&2
    return 1
  fi
}

check() {
  local tmp dest
  tmp=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now: $tmp is local
  trap "rm -rf -- '$tmp'" EXIT
  dest=$tmp/durable-orders
  generate "$dest" durable-orders
  # Path dependencies on this workspace instead of the (future) crates.io versions.
  sed -i \
    -e "s|^durable-tokio = \"0.1\"|durable-tokio = { path = \"$ROOT/crates/driver-tokio\" }|" \
    -e "s|^durable-local = \"0.1\"|durable-local = { path = \"$ROOT/crates/durable-local\" }|" \
    "$dest/Cargo.toml"
  grep -q "path = \"$ROOT/crates/driver-tokio\"" "$dest/Cargo.toml"
  grep -q "path = \"$ROOT/crates/durable-local\"" "$dest/Cargo.toml"
  cp "$ROOT/Cargo.lock" "$dest/Cargo.lock"
  echo "generated $dest; testing it (CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target})"
  # The workspace's [profile.dev] settings (Cargo.toml), so that dependencies built by the
  # workspace's own test stage are reused rather than rebuilt under another profile.
  CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target} \
    cargo test --manifest-path "$dest/Cargo.toml" \
    --config 'profile.dev.debug="line-tables-only"' \
    --config 'profile.dev.package."*".debug=false'
}

case ${1:-} in
  generate) generate "${2:?usage: template.sh generate DEST [NAME]}" "${3:-durable-orders}" ;;
  check) check ;;
  *)
    echo "usage: scripts/template.sh generate DEST [NAME] | check" >&2
    exit 2
    ;;
esac
