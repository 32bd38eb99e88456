# shellcheck shell=bash
# Real servers on 127.0.0.1 and real clients to drive them. This file is sourced, not run:
#
#   source tests/data/loopback-servers.sh
#   loopback_ensure_packages          # apt-get installs whatever is missing (root)
#   start_servers "$(mktemp -d)"      # HTTP, HTTPS, DNS, SSH on 127.0.0.1; returns once all listen
#   drive_clients                     # one flow per request, see the list below; fails loudly
#   stop_servers                      # kills exactly the processes start_servers started
#
# tests/data/record-loopback.sh uses it to record tests/data/loopback.pcap; a live-capture test can
# use it the same way, capturing on `lo` with the filter from `loopback_bpf_filter`.
# Everything runs as root (DNS needs port 53, sshd needs root). Only 127.0.0.1 is used.
#
# Flows drive_clients makes, in this order (each its own connection / UDP socket):
#   1. HTTP   GET  http://demo.example:8080/demo/index.html  (Host: demo.example)  -> 200 text/html
#   2. HTTP   GET  /missing.html                              (Host: demo.example)  -> 404
#   3. HTTP   POST /api/echo (application/json)               (Host: demo.example)  -> 200 application/json
#   4. TLS1.2 GET  https://secure.example:8443/demo/index.html (SNI secure.example, self-signed cert)
#   5. TLS1.3 GET  https://secure.example:8443/               (SNI secure.example)  -> 404
#   6. DNS    demo.example A            -> NOERROR, 127.0.0.1
#   7. DNS    nosuch.demo.invalid A     -> NXDOMAIN
#   8. DNS    big.example TXT           -> NOERROR, a response larger than 512 bytes
#   9. SSH    ssh nobody@127.0.0.1 -p 2222: version exchange + key exchange, then auth fails
#  10. only with `drive_clients --large`: HTTP GET /big.bin, 1.5 MB (a "large flow"); the recorded
#      pcap leaves it out to stay small.
# Not driven by drive_clients: GET /3mb.bin serves 3 MiB (3,145,728 bytes), for a download test.
#
# Callers are expected to run with `set -euo pipefail`; the functions return non-zero on failure.

# Ports. DNS must stay on 53: nDPI 4.2 recognises DNS only on port 53 (5353/5355 are MDNS/LLMNR).
LOOPBACK_HTTP_PORT=${LOOPBACK_HTTP_PORT:-8080}
LOOPBACK_TLS_PORT=${LOOPBACK_TLS_PORT:-8443}
LOOPBACK_DNS_PORT=${LOOPBACK_DNS_PORT:-53}
LOOPBACK_SSH_PORT=${LOOPBACK_SSH_PORT:-2222}

# Names the flows carry, so tests can assert them.
LOOPBACK_HTTP_HOST=demo.example
LOOPBACK_TLS_SNI=secure.example

# Debian's python3, not whatever python3 comes first in PATH (pyenv shims and such).
LOOPBACK_PYTHON=${LOOPBACK_PYTHON:-/usr/bin/python3}

# Set by start_servers.
LOOPBACK_DIR=""
LOOPBACK_PIDS=()

# Debian packages the servers, clients and capture need.
LOOPBACK_PACKAGES=(
  tcpdump          # capture
  python3          # HTTP + HTTPS server
  openssl          # self-signed certificate
  curl             # HTTP/HTTPS client
  dnsmasq-base     # DNS server (the binary only: no system service gets started)
  bind9-dnsutils   # dig
  openssh-server   # sshd
  openssh-client   # ssh, ssh-keygen
  iproute2         # ss, to wait for listening sockets without sending traffic
)

# The capture filter matching exactly the flows above.
loopback_bpf_filter() {
  printf 'host 127.0.0.1 and (tcp port %s or tcp port %s or udp port %s or tcp port %s)' \
    "$LOOPBACK_HTTP_PORT" "$LOOPBACK_TLS_PORT" "$LOOPBACK_DNS_PORT" "$LOOPBACK_SSH_PORT"
}

# Install the missing packages; `apt-get update` only runs when something is missing.
loopback_ensure_packages() {
  local p missing=()
  for p in "${LOOPBACK_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "loopback: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

_loopback_die() {
  echo "loopback: $*" >&2
  return 1
}

# _loopback_port_busy tcp|udp PORT: true when something already listens on 127.0.0.1 (or any) PORT.
_loopback_port_busy() {
  local flag=t
  [ "$1" = udp ] && flag=u
  [ -n "$(ss -Hln$flag "sport = :$2" 2>/dev/null)" ]
}

# _loopback_wait_listen tcp|udp PORT PID NAME: wait (up to 10 s) until PORT listens; fail if PID dies.
_loopback_wait_listen() {
  local proto=$1 port=$2 pid=$3 name=$4 i
  for i in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || _loopback_die "$name exited early; see $LOOPBACK_DIR/$name.log" || return 1
    _loopback_port_busy "$proto" "$port" && return 0
    sleep 0.1
  done
  _loopback_die "$name did not listen on $proto port $port within 10 s; see $LOOPBACK_DIR/$name.log"
}

# The HTTP and HTTPS server: one python process, two threads, the same handler on both ports.
_loopback_write_http_server() {
  cat >"$1" <<'PY'
"""HTTP on 127.0.0.1:HTTP_PORT and HTTPS on 127.0.0.1:TLS_PORT (self-signed cert), one handler."""
import http.server
import json
import ssl
import sys
import threading

http_port, tls_port, cert, key = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]

INDEX = (b"<!DOCTYPE html>\n<html><head><title>nDPI-rs demo</title></head>\n"
         b"<body><h1>nDPI-rs loopback demo</h1><p>Served on 127.0.0.1.</p></body></html>\n")
BIG = bytes(range(256)) * (1536 * 1024 // 256)  # 1.5 MB, for the optional large flow
HUGE = bytes(range(256)) * (3 * 1024 * 1024 // 256)  # 3 MiB, for a download test


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive capable, Content-Length always set
    server_version = "nDPI-rs-demo/1.0"

    def reply(self, status, ctype, body):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/demo/index.html":
            self.reply(200, "text/html; charset=utf-8", INDEX)
        elif self.path == "/big.bin":
            self.reply(200, "application/octet-stream", BIG)
        elif self.path == "/3mb.bin":
            self.reply(200, "application/octet-stream", HUGE)
        else:
            self.send_error(404, "Not Found")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(length)
        if self.path == "/api/echo":
            body = json.dumps({"received_bytes": len(data)}).encode() + b"\n"
            self.reply(200, "application/json", body)
        else:
            self.send_error(404, "Not Found")

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))
        sys.stderr.flush()


plain = http.server.ThreadingHTTPServer(("127.0.0.1", http_port), Handler)
secure = http.server.ThreadingHTTPServer(("127.0.0.1", tls_port), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.set_alpn_protocols(["http/1.1"])
secure.socket = ctx.wrap_socket(secure.socket, server_side=True)

threading.Thread(target=secure.serve_forever, daemon=True).start()
plain.serve_forever()
PY
}

# start_servers DIR: certificate, keys and configs go to DIR (which must exist); logs to DIR/*.log.
start_servers() {
  local dir=${1:?start_servers DIR}
  LOOPBACK_DIR=$(cd "$dir" && pwd)
  LOOPBACK_PIDS=()

  local proto port proto_port
  for proto_port in "tcp $LOOPBACK_HTTP_PORT" "tcp $LOOPBACK_TLS_PORT" \
                    "udp $LOOPBACK_DNS_PORT" "tcp $LOOPBACK_SSH_PORT"; do
    read -r proto port <<<"$proto_port"
    if _loopback_port_busy "$proto" "$port"; then
      _loopback_die "$proto port $port is already in use"; return 1
    fi
  done

  # Self-signed certificate for secure.example (RSA 2048, 10 years).
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
    -keyout "$LOOPBACK_DIR/tls.key" -out "$LOOPBACK_DIR/tls.crt" \
    -subj "/C=XX/O=nDPI-rs demo/CN=$LOOPBACK_TLS_SNI" \
    -addext "subjectAltName=DNS:$LOOPBACK_TLS_SNI" 2>"$LOOPBACK_DIR/openssl.log" ||
    { _loopback_die "openssl req failed; see $LOOPBACK_DIR/openssl.log"; return 1; }

  # HTTP + HTTPS.
  _loopback_write_http_server "$LOOPBACK_DIR/http_server.py"
  "$LOOPBACK_PYTHON" -u "$LOOPBACK_DIR/http_server.py" "$LOOPBACK_HTTP_PORT" "$LOOPBACK_TLS_PORT" \
    "$LOOPBACK_DIR/tls.crt" "$LOOPBACK_DIR/tls.key" >"$LOOPBACK_DIR/http.log" 2>&1 &
  LOOPBACK_PIDS+=($!)
  _loopback_wait_listen tcp "$LOOPBACK_HTTP_PORT" $! http || return 1
  _loopback_wait_listen tcp "$LOOPBACK_TLS_PORT" $! http || return 1

  # DNS: dnsmasq answering only from its command line. demo.example -> 127.0.0.1; anything
  # under .invalid -> NXDOMAIN (--local: never forwarded); big.example -> 8 TXT strings of 120
  # bytes each, so the response is ~1 KB (dig advertises a 1232-byte EDNS buffer: no truncation).
  local txt=() i
  for i in 1 2 3 4 5 6 7 8; do
    txt+=("--txt-record=big.example,record-$i-$(printf 'x%.0s' $(seq 111))")
  done
  dnsmasq --keep-in-foreground --log-facility=- --conf-file=/dev/null --pid-file= \
    --no-resolv --no-hosts --no-poll --bind-interfaces --listen-address=127.0.0.1 \
    --port="$LOOPBACK_DNS_PORT" --edns-packet-max=4096 \
    --address="/$LOOPBACK_HTTP_HOST/127.0.0.1" --local=/invalid/ "${txt[@]}" \
    >"$LOOPBACK_DIR/dns.log" 2>&1 &
  LOOPBACK_PIDS+=($!)
  _loopback_wait_listen udp "$LOOPBACK_DNS_PORT" $! dns || return 1

  # SSH: a private sshd with its own host key and config; nobody can log in.
  mkdir -p /run/sshd   # sshd's privilege-separation directory
  ssh-keygen -q -t ed25519 -N '' -C loopback-host -f "$LOOPBACK_DIR/ssh_host_ed25519_key"
  ssh-keygen -q -t ed25519 -N '' -C loopback-client -f "$LOOPBACK_DIR/ssh_client_key"
  cat >"$LOOPBACK_DIR/sshd_config" <<EOF
Port $LOOPBACK_SSH_PORT
ListenAddress 127.0.0.1
HostKey $LOOPBACK_DIR/ssh_host_ed25519_key
PidFile none
UsePAM no
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile none
StrictModes no
LogLevel INFO
EOF
  /usr/sbin/sshd -D -e -f "$LOOPBACK_DIR/sshd_config" >"$LOOPBACK_DIR/ssh.log" 2>&1 &
  LOOPBACK_PIDS+=($!)
  _loopback_wait_listen tcp "$LOOPBACK_SSH_PORT" $! ssh || return 1
}

# _loopback_dig NAME TYPE EXPECTED_STATUS: one query, one UDP flow; checks the response status.
_loopback_dig() {
  local out
  out=$(dig @127.0.0.1 -p "$LOOPBACK_DNS_PORT" +tries=1 +time=3 +ignore "$1" "$2") ||
    { _loopback_die "dig $1 $2 failed"; return 1; }
  grep -q "status: $3" <<<"$out" || { _loopback_die "dig $1 $2: expected $3, got: $out"; return 1; }
  printf '%s\n' "$out"
}

# _loopback_curl ARGS...: curl with no proxy, no config file, a timeout; prints the status code.
_loopback_curl() {
  curl -q --noproxy '*' --silent --show-error --max-time 10 -o /dev/null -w '%{http_code}' "$@"
}

# _loopback_expect WHAT EXPECTED ACTUAL
_loopback_expect() {
  [ "$2" = "$3" ] || { _loopback_die "$1: expected $2, got $3"; return 1; }
}

# drive_clients [--large]: the flows listed at the top, in order, with a short pause between them.
drive_clients() {
  local large=0 code out
  [ "${1:-}" = --large ] && large=1
  local http="http://127.0.0.1:$LOOPBACK_HTTP_PORT"
  local host=(-H "Host: $LOOPBACK_HTTP_HOST")
  local tls=(-k --resolve "$LOOPBACK_TLS_SNI:$LOOPBACK_TLS_PORT:127.0.0.1")
  local https="https://$LOOPBACK_TLS_SNI:$LOOPBACK_TLS_PORT"

  # HTTP: 200, 404, POST.
  code=$(_loopback_curl "${host[@]}" "$http/demo/index.html") || return 1
  _loopback_expect "HTTP GET /demo/index.html" 200 "$code" || return 1
  sleep 0.2
  code=$(_loopback_curl "${host[@]}" "$http/missing.html") || true
  _loopback_expect "HTTP GET /missing.html" 404 "$code" || return 1
  sleep 0.2
  code=$(_loopback_curl "${host[@]}" -H 'Content-Type: application/json' \
    --data '{"demo":"nDPI-rs","n":1}' "$http/api/echo") || return 1
  _loopback_expect "HTTP POST /api/echo" 200 "$code" || return 1
  sleep 0.2

  # TLS 1.2 (certificate visible on the wire), then TLS 1.3.
  code=$(_loopback_curl "${tls[@]}" --tlsv1.2 --tls-max 1.2 "$https/demo/index.html") || return 1
  _loopback_expect "HTTPS (TLS 1.2) GET /demo/index.html" 200 "$code" || return 1
  sleep 0.2
  code=$(_loopback_curl "${tls[@]}" --tlsv1.3 "$https/") || true
  _loopback_expect "HTTPS (TLS 1.3) GET /" 404 "$code" || return 1
  sleep 0.2

  # DNS: an answer, an NXDOMAIN, a large (> 512 bytes) response.
  _loopback_dig "$LOOPBACK_HTTP_HOST" A NOERROR >/dev/null || return 1
  sleep 0.2
  _loopback_dig nosuch.demo.invalid A NXDOMAIN >/dev/null || return 1
  sleep 0.2
  out=$(_loopback_dig big.example TXT NOERROR) || return 1
  local size
  size=$(sed -n -E 's/.*MSG SIZE +rcvd: ([0-9]+).*/\1/p' <<<"$out")
  [ "${size:-0}" -gt 512 ] || { _loopback_die "big.example TXT: response is ${size:-?} bytes, want > 512"; return 1; }
  sleep 0.2

  # SSH: kex completes, then publickey auth fails (the client key is authorised nowhere).
  ssh -v -F /dev/null -p "$LOOPBACK_SSH_PORT" -i "$LOOPBACK_DIR/ssh_client_key" \
    -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 \
    nobody@127.0.0.1 true >"$LOOPBACK_DIR/ssh-client.log" 2>&1 || true
  grep -q "SSH2_MSG_NEWKEYS received" "$LOOPBACK_DIR/ssh-client.log" ||
    { _loopback_die "ssh: key exchange did not complete; see $LOOPBACK_DIR/ssh-client.log"; return 1; }

  if [ $large -eq 1 ]; then
    sleep 0.2
    code=$(_loopback_curl "${host[@]}" "$http/big.bin") || return 1
    _loopback_expect "HTTP GET /big.bin" 200 "$code" || return 1
  fi
}

# stop_servers: kill the processes start_servers started (by pid), and wait for them.
stop_servers() {
  local pid
  for pid in "${LOOPBACK_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${LOOPBACK_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  LOOPBACK_PIDS=()
}
