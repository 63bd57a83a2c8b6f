#!/bin/sh
# Scaffold the Kubernetes manifests of a newly registered service from service.template.yaml:
#   deploy/k8s/add-service.sh matching 8102
# Then, by hand: list `services/NAME` in base/kustomization.yaml, add a `ring-NAME` entry to
# `images:` in overlays/dev and overlays/prod, its role ring_NAME and schema to
# components/platform/postgres.yaml, its KafkaUser ring-NAME to components/platform/users.yaml,
# NAME to SERVICES in deploy/compose/postgres-roles.sh and kafka-start.sh, and a compose service
# (copy `task`) with its POSTGRES_/SCRAM_NAME_PASSWORD in docker-compose.yml and .env.example.
# tests/deploy fails until all of that exists.
set -eu
[ "$#" -eq 2 ] || { echo "usage: $0 NAME PORT" >&2; exit 2; }
name=$1 port=$2
here=$(cd "$(dirname "$0")" && pwd)
target="$here/base/services/$name"
[ ! -e "$target" ] || { echo "$target exists" >&2; exit 1; }
mkdir -p "$target"
sed "s/__NAME__/$name/g; s/__PORT__/$port/g" "$here/service.template.yaml" | sed 1d > "$target/$name.yaml"
printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - %s.yaml\n' "$name" > "$target/kustomization.yaml"
echo "created $target"
