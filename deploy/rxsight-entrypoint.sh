#!/bin/sh
# The configuration file comes from a template with ${VARIABLES} from the environment (the
# compose env file), so tokens and passwords never sit in a file under version control.
set -eu
python -c 'import os, string, sys; sys.stdout.write(string.Template(open(sys.argv[1]).read()).substitute(os.environ))' \
    "${RXSIGHT_CONFIG_TEMPLATE:-/etc/rxsight/rxsight.yaml.in}" > /var/lib/rxsight/rxsight.yaml
exec rxsight serve --host 0.0.0.0 --port 8000 --grpc-port 4317 \
    --data-dir /var/lib/rxsight --config /var/lib/rxsight/rxsight.yaml "$@"
