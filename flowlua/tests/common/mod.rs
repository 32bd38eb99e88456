//! Shared by the integration tests: realistic flow records (values as nDPI 4.2 reports them),
//! engines with captured output, scratch checks directories, and the expected `flow.*` values
//! of any record (usable on records from the flow tracker as well).
#![allow(dead_code)]

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use flowlua::{Engine, EngineConfig, Output};
use ndpi::{
    sys, CipherWeakness, Confidence, Direction, DnsInfo, FlowRecord, FlowTuple, HttpInfo, L4Proto,
    ProtocolId, Risks, SshInfo, TlsQuicInfo,
};

/// A fixture directory under tests/checks.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/checks")
        .join(name)
}

/// A fixture file's text.
pub fn fixture_text(path: &str) -> String {
    std::fs::read_to_string(fixture(path)).expect("fixture exists")
}

/// A temporary checks directory holding `files` (relative path, source).
pub fn scratch(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, source) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(path, source).expect("write script");
    }
    dir
}

/// Everything the scripts wrote with `print` and `io.write`.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub fn output(&self) -> Output {
        let sink = self.0.clone();
        Output::callback(move |bytes| sink.lock().expect("not poisoned").extend_from_slice(bytes))
    }

    /// The output so far, emptied.
    pub fn take(&self) -> String {
        let bytes = std::mem::take(&mut *self.0.lock().expect("not poisoned"));
        String::from_utf8(bytes).expect("UTF-8 output")
    }
}

/// An engine with `config` whose output is captured.
pub fn load_with(dir: &Path, config: EngineConfig) -> (Engine, Captured) {
    let captured = Captured::default();
    let config = config.output(captured.output());
    let engine = Engine::load(dir, config).expect("checks directory loads");
    (engine, captured)
}

/// A sandboxed engine whose output is captured.
pub fn load(dir: &Path) -> (Engine, Captured) {
    load_with(dir, EngineConfig::default())
}

fn ip(s: &str) -> std::net::IpAddr {
    s.parse().expect("valid address")
}

/// `value` with fields set: `with!(base, a = x, b.c = y)`. Records are `#[non_exhaustive]`, so
/// tests start from a value and set what they need.
macro_rules! with {
    ($value:expr, $($($field:ident).+ = $v:expr),* $(,)?) => {{
        let mut value = $value;
        $(value.$($field).+ = $v;)*
        value
    }};
}

/// A classified flow without L7 metadata; the constructors below fill in the rest.
fn flow(l4_proto: u8, cli: &str, cli_port: u16, srv: &str, srv_port: u16) -> FlowRecord {
    let tuple = FlowTuple {
        l4_proto: L4Proto(l4_proto),
        cli_ip: ip(cli),
        cli_port,
        srv_ip: ip(srv),
        srv_port,
        vlan_id: 0,
    };
    with!(
        FlowRecord::new(tuple, 1_700_000_000_000),
        cli2srv_packets = 1,
        srv2cli_packets = 1,
    )
}

/// The risks with these nDPI risk IDs.
fn risks(ids: &[u32]) -> Risks {
    Risks(ids.iter().fold(0, |mask, id| mask | 1 << id))
}

/// A DNS A query for www.ntop.org and its 620-byte NOERROR response.
pub fn dns() -> FlowRecord {
    with!(
        flow(17, "192.168.1.23", 53124, "192.168.1.1", 53),
        cli2srv_bytes = 74,
        srv2cli_bytes = 620,
        last_seen_ms = 1_700_000_000_012,
        l7_proto = ProtocolId(5),
        l7_proto_name = "DNS".into(),
        category = "Network".into(),
        confidence = Confidence::DPI,
        host_server_name = Some("www.ntop.org".into()),
        direction = Direction::LocalToLocal,
        dns = Some(
            with!(
                DnsInfo::default(),
                last_query = Some("www.ntop.org".into()),
                last_query_type = 1,
                query_class = 1,
                last_return_code = Some(0),
                replies_as_string = Some("167.99.215.164".into()),
                invalid_chars_in_query = false,
                num_queries = 1,
                num_answers = 1,
            )
            .into(),
        ),
    )
}

/// The same exchange for a name that does not exist: NXDOMAIN, small response.
pub fn dns_nxdomain() -> FlowRecord {
    let mut record = dns();
    record.srv2cli_bytes = 140;
    record.host_server_name = Some("nosuchhost.ntop.org".into());
    record.dns = Some(
        with!(
            DnsInfo::clone(info(&dns().dns).expect("DNS")),
            last_query = Some("nosuchhost.ntop.org".into()),
            last_return_code = Some(3),
            replies_as_string = None,
            num_answers = 0,
        )
        .into(),
    );
    record
}

/// An HTTP GET to a numeric host, answered 200 with HTML.
pub fn http() -> FlowRecord {
    with!(
        flow(6, "192.168.1.23", 41730, "93.184.216.34", 80),
        cli2srv_packets = 6,
        srv2cli_packets = 5,
        cli2srv_bytes = 486,
        srv2cli_bytes = 1622,
        last_seen_ms = 1_700_000_000_184,
        l7_proto = ProtocolId(7),
        l7_proto_name = "HTTP".into(),
        category = "Web".into(),
        confidence = Confidence::DPI,
        // NDPI_HTTP_NUMERIC_IP_HOST in 4.2, NDPI_NUMERIC_IP_HOST in 4.10: the same risk.
        risks = risks(&[12]),
        risk_score = 20,
        host_server_name = Some("93.184.216.34".into()),
        direction = Direction::LocalToRemote,
        http = Some(
            with!(
                HttpInfo::default(),
                method = Some("GET".into()),
                url = Some("93.184.216.34/index.html".into()),
                content_type = Some("text/html; charset=UTF-8".into()),
                request_content_type = None,
                return_code = Some(200),
                server_name = Some("93.184.216.34".into()),
                user_agent = Some("curl/7.88.1".into()),
            )
            .into(),
        ),
    )
}

/// TLS 1.3 to Google over IPv6, 1.5 MB downloaded.
pub fn tls() -> FlowRecord {
    with!(
        flow(6, "2001:db8::23", 51512, "2a00:1450:4002:410::2004", 443),
        cli2srv_packets = 412,
        srv2cli_packets = 1105,
        cli2srv_bytes = 31_870,
        srv2cli_bytes = 1_534_201,
        last_seen_ms = 1_700_000_003_950,
        l7_master_proto = ProtocolId(91),
        l7_proto = ProtocolId(126),
        l7_proto_name = "TLS.Google".into(),
        category = "Web".into(),
        confidence = Confidence::DPI,
        host_server_name = Some("www.google.com".into()),
        direction = Direction::LocalToRemote,
        tls_quic = Some(
            with!(
                TlsQuicInfo::default(),
                client_requested_server_name = Some("www.google.com".into()),
                server_names = Some("www.google.com".into()),
                issuer_dn = Some("C=US, O=Google Trust Services LLC, CN=GTS CA 1C3".into()),
                subject_dn = Some("CN=www.google.com".into()),
                ja3_client = Some("773906b0efdefa24a7f2b8eb6985bf37".into()),
                ja3_server = Some("f4febc55ea12b31ae17cfb7e614afda8".into()),
                not_before = Some(1_697_443_200),
                not_after = Some(1_704_700_799),
                unsafe_cipher = false,
                cipher_weakness = CipherWeakness::Safe,
                server_cipher = Some(0x1301),
                server_cipher_name = Some("TLS_AES_128_GCM_SHA256".into()),
                tls_version = Some(0x0304),
                tls_version_name = Some("TLSv1.3".into()),
                alpn = Some("h2,http/1.1".into()),
                tls_supported_versions = Some("TLSv1.3,TLSv1.2".into()),
                sha1_cert_fingerprint =
                    Some("3C:A9:5D:1E:7B:02:44:F1:C6:58:0E:9A:B2:47:13:6D:8F:A0:21:C5".into(),),
                user_agent = None,
            )
            .into(),
        ),
    )
}

/// A small TLS 1.2 flow whose certificate does not cover the SNI, with a weak cipher.
pub fn tls_mismatch() -> FlowRecord {
    with!(
        flow(6, "192.168.1.23", 50444, "192.168.1.40", 8443),
        cli2srv_bytes = 2_103,
        srv2cli_bytes = 5_870,
        l7_master_proto = ProtocolId(91),
        l7_proto = ProtocolId(91),
        l7_proto_name = "TLS".into(),
        category = "Web".into(),
        confidence = Confidence::DPI,
        risks = risks(&[
            sys::NDPI_TLS_CERTIFICATE_MISMATCH,
            sys::NDPI_TLS_WEAK_CIPHER
        ]),
        risk_score = 200,
        host_server_name = Some("intranet.example.org".into()),
        direction = Direction::LocalToLocal,
        tls_quic = Some(
            with!(
                TlsQuicInfo::default(),
                client_requested_server_name = Some("intranet.example.org".into()),
                server_names = Some("localhost,localhost.localdomain".into()),
                issuer_dn = Some("CN=localhost".into()),
                subject_dn = Some("CN=localhost".into()),
                ja3_client = Some("c35a61411ee5bdf666b4d64b05c29e64".into()),
                ja3_server = Some("ccc514751b175866924439bdbb5bba34".into()),
                not_before = Some(1_577_836_800),
                not_after = None,
                unsafe_cipher = true,
                cipher_weakness = CipherWeakness::Insecure,
                server_cipher = Some(0x000a),
                server_cipher_name = Some("TLS_RSA_WITH_3DES_EDE_CBC_SHA".into()),
                tls_version = Some(0x0303),
                tls_version_name = Some("TLSv1.2".into()),
                alpn = None,
                tls_supported_versions = None,
                sha1_cert_fingerprint = None,
                user_agent = None,
            )
            .into(),
        ),
    )
}

/// QUIC to YouTube: the ClientHello's SNI and ALPN, and Chrome's user agent from the
/// transport parameters; no certificate (encrypted in QUIC).
pub fn quic() -> FlowRecord {
    with!(
        flow(17, "192.168.1.23", 60211, "142.250.180.14", 443),
        cli2srv_packets = 23,
        srv2cli_packets = 41,
        cli2srv_bytes = 9_820,
        srv2cli_bytes = 48_116,
        l7_master_proto = ProtocolId(188),
        l7_proto = ProtocolId(124),
        l7_proto_name = "QUIC.YouTube".into(),
        category = "Media".into(),
        confidence = Confidence::DPI,
        host_server_name = Some("www.youtube.com".into()),
        direction = Direction::LocalToRemote,
        tls_quic = Some(
            with!(
                TlsQuicInfo::default(),
                client_requested_server_name = Some("www.youtube.com".into()),
                tls_version = Some(0x0304),
                tls_version_name = Some("TLSv1.3".into()),
                alpn = Some("h3".into()),
                user_agent = Some("Chrome/120.0.6099.109 Windows NT 10.0; Win64; x64".into()),
            )
            .into(),
        ),
    )
}

/// SSH on VLAN 10, OpenSSH on both ends.
pub fn ssh() -> FlowRecord {
    with!(
        flow(6, "10.0.0.5", 50022, "10.0.0.9", 22),
        tuple.vlan_id = 10,
        cli2srv_packets = 31,
        srv2cli_packets = 27,
        cli2srv_bytes = 5_214,
        srv2cli_bytes = 6_032,
        last_seen_ms = 1_700_000_001_500,
        l7_proto = ProtocolId(92),
        l7_proto_name = "SSH".into(),
        category = "RemoteAccess".into(),
        confidence = Confidence::DPI,
        direction = Direction::LocalToLocal,
        ssh = Some(
            with!(
                SshInfo::default(),
                client_signature = Some("SSH-2.0-OpenSSH_8.4p1 Debian-5+deb11u1".into()),
                server_signature = Some("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2".into()),
                hassh_client = Some("ec7378c1a92f5a8dde7e8b7a1ddf33d1".into()),
                hassh_server = Some("b12d2871a1189eff20364cf5333619ee".into()),
            )
            .into(),
        ),
    )
}

/// mDNS announcements to the multicast group: one-way and not unicast.
pub fn mdns() -> FlowRecord {
    with!(
        flow(17, "192.168.1.23", 5353, "224.0.0.251", 5353),
        cli2srv_packets = 3,
        srv2cli_packets = 0,
        cli2srv_bytes = 1_146,
        l7_proto = ProtocolId(8),
        l7_proto_name = "MDNS".into(),
        category = "Network".into(),
        confidence = Confidence::DPI,
        end_reason = Some(ndpi::EndReason::Idle),
    )
}

/// The L7 metadata of a record field, boxed or not.
pub fn info<T, B: Borrow<T>>(field: &Option<B>) -> Option<&T> {
    field.as_ref().map(Borrow::borrow)
}

/// Lines of `name=type:value` (numbers typed `integer` or `float`, sequences joined by commas)
/// and `table={count}`, as the `api` fixture writes them, into a map.
pub fn parse(output: &str) -> BTreeMap<String, String> {
    output
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Builds the map [`parse`] returns for the `api` fixture's check on `r` during `hook`.
struct Expect(BTreeMap<String, String>);

impl Expect {
    fn int(&mut self, key: &str, v: impl Into<i64>) {
        self.0.insert(key.into(), format!("integer:{}", v.into()));
    }
    fn string(&mut self, key: &str, v: impl Display) {
        self.0.insert(key.into(), format!("string:{v}"));
    }
    fn boolean(&mut self, key: &str, v: bool) {
        self.0.insert(key.into(), format!("boolean:{v}"));
    }
    fn opt_int(&mut self, key: &str, v: Option<impl Into<i64>>) {
        if let Some(v) = v {
            self.int(key, v);
        }
    }
    fn opt_string(&mut self, key: &str, v: &Option<String>) {
        if let Some(v) = v {
            self.string(key, v);
        }
    }
    /// The table's key count, from what was inserted under `prefix.`.
    fn count(&mut self, name: &str) {
        let prefix = format!("{name}.");
        let n = self.0.keys().filter(|k| k.starts_with(&prefix)).count();
        self.0.insert(name.into(), format!("{{{n}}}"));
    }
}

/// What the `api` fixture prints for `r`: the 19 value functions, the four L7 tables key by
/// key with both key spellings, and `flow_info`.
pub fn expected_api(r: &FlowRecord, hook: &str) -> BTreeMap<String, String> {
    let mut e = Expect(BTreeMap::new());
    let i = |v: u64| i64::try_from(v).expect("fits a Lua integer");
    e.string("cli", r.tuple.cli_ip);
    e.int("cli_port", r.tuple.cli_port);
    e.string("srv", r.tuple.srv_ip);
    e.int("srv_port", r.tuple.srv_port);
    e.int("vlan_id", r.tuple.vlan_id);
    e.int("bytes", i(r.cli2srv_bytes + r.srv2cli_bytes));
    e.int("cli2srv_bytes", i(r.cli2srv_bytes));
    e.int("srv2cli_bytes", i(r.srv2cli_bytes));
    e.int("protocol", r.tuple.l4_proto.0);
    e.int("l7_master_proto", r.l7_master_proto.0);
    e.int("l7_proto", r.l7_proto.0);
    e.string("l7_proto_name", &r.l7_proto_name);
    e.string("direction", r.direction.as_str());
    e.boolean("is_oneway", r.is_oneway());
    e.boolean("is_unicast", r.is_unicast());

    if let Some(h) = info::<HttpInfo, _>(&r.http) {
        e.opt_string("http.method", &h.method);
        e.opt_string("http.protos.http.last_method", &h.method);
        e.opt_string("http.url", &h.url);
        e.opt_string("http.protos.http.last_url", &h.url);
        e.opt_string("http.content_type", &h.content_type);
        e.opt_string("http.request_content_type", &h.request_content_type);
        e.opt_int("http.return_code", h.return_code);
        e.opt_int("http.protos.http.last_return_code", h.return_code);
        e.opt_string("http.server_name", &h.server_name);
        e.opt_string("http.protos.http.server_name", &h.server_name);
        e.opt_string("http.user_agent", &h.user_agent);
        e.opt_string("http.protos.http.last_user_agent", &h.user_agent);
        e.opt_string("http.server", &h.server);
        e.opt_string("http.filename", &h.filename);
        e.opt_string("http.protos.http.last_server", &h.server);
    }
    e.count("http");

    if let Some(d) = info::<DnsInfo, _>(&r.dns) {
        e.opt_string("dns.last_query", &d.last_query);
        e.opt_string("dns.protos.dns.last_query", &d.last_query);
        e.int("dns.last_query_type", d.last_query_type);
        e.int("dns.protos.dns.last_query_type", d.last_query_type);
        e.int("dns.query_class", d.query_class);
        e.opt_int("dns.last_return_code", d.last_return_code);
        e.opt_int("dns.protos.dns.last_return_code", d.last_return_code);
        e.opt_string("dns.replies_as_string", &d.replies_as_string);
        e.boolean("dns.invalid_chars_in_query", d.invalid_chars_in_query);
        if d.invalid_chars_in_query {
            e.boolean("dns.protos.dns.invalid_chars_in_query", true);
        }
        e.int("dns.num_queries", d.num_queries);
        e.int("dns.num_answers", d.num_answers);
    }
    e.count("dns");

    if let Some(s) = info::<SshInfo, _>(&r.ssh) {
        e.opt_string("ssh.client_signature", &s.client_signature);
        e.opt_string("ssh.protos.ssh.client_signature", &s.client_signature);
        e.opt_string("ssh.server_signature", &s.server_signature);
        e.opt_string("ssh.protos.ssh.server_signature", &s.server_signature);
        e.opt_string("ssh.hassh_client", &s.hassh_client);
        e.opt_string("ssh.protos.ssh.hassh.client_hash", &s.hassh_client);
        e.opt_string("ssh.hassh_server", &s.hassh_server);
        e.opt_string("ssh.protos.ssh.hassh.server_hash", &s.hassh_server);
    }
    e.count("ssh");

    if let Some(t) = info::<TlsQuicInfo, _>(&r.tls_quic) {
        let sni = &t.client_requested_server_name;
        e.opt_string("tls_quic.client_requested_server_name", sni);
        e.opt_string("tls_quic.protos.tls.client_requested_server_name", sni);
        e.opt_string("tls_quic.server_names", &t.server_names);
        e.opt_string("tls_quic.protos.tls.server_names", &t.server_names);
        e.opt_string("tls_quic.issuerDN", &t.issuer_dn);
        e.opt_string("tls_quic.protos.tls.issuerDN", &t.issuer_dn);
        e.opt_string("tls_quic.subjectDN", &t.subject_dn);
        e.opt_string("tls_quic.protos.tls.subjectDN", &t.subject_dn);
        e.opt_string("tls_quic.ja3_client", &t.ja3_client);
        e.opt_string("tls_quic.protos.tls.ja3.client_hash", &t.ja3_client);
        e.opt_string("tls_quic.ja3_server", &t.ja3_server);
        e.opt_string("tls_quic.protos.tls.ja3.server_hash", &t.ja3_server);
        e.opt_string("tls_quic.ja4_client", &t.ja4_client);
        e.opt_string("tls_quic.protos.tls.ja4.client_hash", &t.ja4_client);
        e.opt_int("tls_quic.notBefore", t.not_before);
        e.opt_int("tls_quic.notAfter", t.not_after);
        if let (Some(from), Some(to)) = (t.not_before, t.not_after) {
            e.int("tls_quic.protos.tls.notBefore", from);
            e.int("tls_quic.protos.tls.notAfter", to);
        }
        e.boolean("tls_quic.unsafe_cipher", t.unsafe_cipher);
        e.string("tls_quic.cipher_weakness", t.cipher_weakness.as_str());
        if let Some(cipher) = t.server_cipher {
            e.string(
                "tls_quic.protos.tls.ja3.server_unsafe_cipher",
                t.cipher_weakness.as_str(),
            );
            e.int("tls_quic.server_cipher", cipher);
            e.int("tls_quic.protos.tls.ja3.server_cipher", cipher);
        }
        e.opt_string("tls_quic.server_cipher_name", &t.server_cipher_name);
        e.opt_int("tls_quic.tls_version", t.tls_version);
        e.opt_int("tls_quic.protos.tls_version", t.tls_version);
        e.opt_string("tls_quic.tls_version_name", &t.tls_version_name);
        e.opt_string("tls_quic.alpn", &t.alpn);
        e.opt_string("tls_quic.protos.tls.client_alpn", &t.alpn);
        e.opt_string("tls_quic.negotiated_alpn", &t.negotiated_alpn);
        let versions = &t.tls_supported_versions;
        e.opt_string("tls_quic.tls_supported_versions", versions);
        e.opt_string(
            "tls_quic.protos.tls.client_tls_supported_versions",
            versions,
        );
        e.opt_string("tls_quic.sha1_cert_fingerprint", &t.sha1_cert_fingerprint);
        e.opt_string("tls_quic.user_agent", &t.user_agent);
        e.opt_int("tls_quic.quic_version", t.quic_version);
        e.opt_string("tls_quic.quic_version_name", &t.quic_version_name);
    }
    e.count("tls_quic");

    e.string("info.hook", hook);
    e.int("info.l4_proto", r.tuple.l4_proto.0);
    e.string("info.cli_ip", r.tuple.cli_ip);
    e.int("info.cli_port", r.tuple.cli_port);
    e.string("info.srv_ip", r.tuple.srv_ip);
    e.int("info.srv_port", r.tuple.srv_port);
    e.int("info.vlan_id", r.tuple.vlan_id);
    e.int("info.cli2srv_packets", i(r.cli2srv_packets));
    e.int("info.srv2cli_packets", i(r.srv2cli_packets));
    e.int("info.cli2srv_bytes", i(r.cli2srv_bytes));
    e.int("info.srv2cli_bytes", i(r.srv2cli_bytes));
    e.int("info.first_seen_ms", i(r.first_seen_ms));
    e.int("info.last_seen_ms", i(r.last_seen_ms));
    e.int("info.l7_master_proto", r.l7_master_proto.0);
    e.int("info.l7_proto", r.l7_proto.0);
    e.opt_int("info.l7_proto_by_ip", r.l7_proto_by_ip.map(|id| id.0));
    e.string("info.l7_proto_name", &r.l7_proto_name);
    e.string("info.category", &r.category);
    e.string("info.confidence", r.confidence.name());
    e.boolean("info.guessed", r.guessed);
    let names: Vec<String> = r.risks.iter().map(ndpi::Risk::name).collect();
    let risks = format!("sequence:{}", names.join(","));
    e.0.insert("info.risks".into(), risks);
    e.int("info.risk_score", r.risk_score);
    e.opt_string("info.risk_info", &r.risk_info);
    e.opt_string("info.host_server_name", &r.host_server_name);
    e.string("info.direction", r.direction.as_str());
    if let Some(end) = r.end_reason {
        e.string("info.end_reason", end.as_str());
    }
    e.count("info");
    e.0
}
