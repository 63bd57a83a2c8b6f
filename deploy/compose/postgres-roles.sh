#!/bin/sh
# One PostgreSQL role per Ring service, limited to its own schema. Run once by the postgres
# image on an empty data volume (/docker-entrypoint-initdb.d); tests/deploy runs it against a
# real PostgreSQL and checks what each role can and cannot do.
#
# Role ring_<service> owns schema <service> and nothing else: it cannot create schemas, cannot
# create objects in `public`, and cannot read another service's schema. Passwords come from
# POSTGRES_<SERVICE>_PASSWORD (`ring keys` prints fresh ones).
set -eu

SERVICES="task matching voucher ledger dispute notification gateway"
DATABASE="${POSTGRES_DB:-ring}"

password_of() { # service
    printenv "POSTGRES_$(echo "$1" | tr '[:lower:]' '[:upper:]')_PASSWORD" || true
}

# Every password first: a missing one changes nothing.
for service in $SERVICES; do
    if [ -z "$(password_of "$service")" ]; then
        echo "postgres-roles: POSTGRES_$(echo "$service" | tr '[:lower:]' '[:upper:]')_PASSWORD" \
            "is not set (run \`ring keys\`)" >&2
        exit 1
    fi
done

psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "$DATABASE" \
    -v database="$DATABASE" <<'SQL'
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL

for service in $SERVICES; do
    password="$(password_of "$service")"
    psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "$DATABASE" \
        -v database="$DATABASE" -v role="ring_$service" -v schema="$service" \
        -v password="$password" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
GRANT CONNECT, TEMPORARY ON DATABASE :"database" TO :"role";
CREATE SCHEMA :"schema" AUTHORIZATION :"role";
SQL
done
