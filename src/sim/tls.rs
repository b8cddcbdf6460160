//! TLS for the simulated cluster: a throw-away CA and a serving certificate for
//! 127.0.0.1/localhost (and the bound address) made at start with rcgen (ECDSA P-256 keys,
//! which sign far cheaper than RSA), and the rustls server configuration offering HTTP/2 and
//! HTTP/1.1 by ALPN (client-go speaks h2), preferring AES-128-GCM as Go's servers do, and
//! resuming sessions with stateless TLS 1.3 tickets.

use std::net::IpAddr;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::SimError;

/// The CA (what clients trust) and the server's certificate and key.
pub struct TlsMaterial {
    pub ca_pem: String,
    pub ca_der: Vec<u8>,
    pub server_config: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key stays out of logs.
        f.debug_struct("TlsMaterial").finish_non_exhaustive()
    }
}

fn tls_err(what: &str, e: impl std::fmt::Display) -> SimError {
    SimError::Tls(format!(
        "failed to {what} for the simulated cluster's TLS: {e}"
    ))
}

/// Makes a CA and a certificate it signs for `localhost`, `127.0.0.1`, `::1` and `bind_ip`.
pub fn generate(bind_ip: IpAddr) -> Result<TlsMaterial, SimError> {
    let mut ca_params =
        CertificateParams::new(Vec::<String>::new()).map_err(|e| tls_err("make the CA", e))?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "kudo-diag-sim-ca");
    ca_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    let ca_key = KeyPair::generate().map_err(|e| tls_err("generate the CA key", e))?;
    let ca_cert = ca_params
        .self_signed(&ca_key)
        .map_err(|e| tls_err("sign the CA", e))?;
    let issuer = Issuer::new(ca_params, ca_key);

    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    if !bind_ip.is_unspecified() && !names.contains(&bind_ip.to_string()) {
        names.push(bind_ip.to_string());
    }
    let mut params =
        CertificateParams::new(names).map_err(|e| tls_err("make the serving certificate", e))?;
    params
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().map_err(|e| tls_err("generate the serving key", e))?;
    let cert = params
        .signed_by(&key, &issuer)
        .map_err(|e| tls_err("sign the serving certificate", e))?;

    let chain = vec![cert.der().clone(), ca_cert.der().clone()];
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let mut provider = rustls::crypto::ring::default_provider();
    // The server's preference, as Go's crypto/tls (a real API server) has it on AES hardware:
    // AES-128-GCM first. Its handshake hashes with SHA-256, which CPUs with SHA extensions
    // compute several times cheaper than the SHA-384 of the AES-256 suite that rustls clients
    // list first; every exec is a new connection, so the handshake is a large share of the
    // simulated cluster's CPU.
    provider
        .cipher_suites
        .sort_by_key(|s| suite_preference(s.suite()));
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err("choose protocol versions", e))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| tls_err("load the serving certificate", e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config.ignore_client_order = true;
    // Stateless TLS 1.3 session tickets (the session sealed in the ticket under a key the server
    // rotates), as Go's servers issue them: any ticket a client kept resumes, where a ticket
    // held in the server's 256-entry cache was gone after a few hundred connections, and every
    // exec is a connection of its own.
    config.ticketer = rustls::crypto::ring::Ticketer::new()
        .map_err(|e| tls_err("make the session ticketer", e))?;

    Ok(TlsMaterial {
        ca_pem: ca_cert.pem(),
        ca_der: CertificateDer::as_ref(ca_cert.der()).to_vec(),
        server_config: Arc::new(config),
    })
}

/// The rank of a TLS 1.3 suite in the server's order; TLS 1.2 suites keep theirs, after.
fn suite_preference(suite: rustls::CipherSuite) -> u8 {
    use rustls::CipherSuite as S;
    match suite {
        S::TLS13_AES_128_GCM_SHA256 => 0,
        S::TLS13_CHACHA20_POLY1305_SHA256 => 1,
        S::TLS13_AES_256_GCM_SHA384 => 2,
        _ => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makes_a_ca_and_an_h2_capable_config() {
        let t = generate("127.0.0.1".parse().unwrap()).unwrap();
        assert!(t.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(!t.ca_der.is_empty());
        assert_eq!(t.server_config.alpn_protocols[0], b"h2");
    }

    /// Runs a handshake in memory, then hands the client what the server sent after it (the
    /// session tickets).
    fn handshake(
        client: Arc<rustls::ClientConfig>,
        server: Arc<rustls::ServerConfig>,
    ) -> rustls::ServerConnection {
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let mut c = rustls::ClientConnection::new(client, name).unwrap();
        let mut s = rustls::ServerConnection::new(server).unwrap();
        for _ in 0..10 {
            let mut buf = Vec::new();
            c.write_tls(&mut buf).unwrap();
            s.read_tls(&mut &buf[..]).unwrap();
            s.process_new_packets().unwrap();
            buf.clear();
            s.write_tls(&mut buf).unwrap();
            c.read_tls(&mut &buf[..]).unwrap();
            c.process_new_packets().unwrap();
            if !c.is_handshaking() && !s.is_handshaking() && !s.wants_write() {
                return s;
            }
        }
        panic!("the handshake did not finish");
    }

    #[test]
    fn the_server_picks_aes_128_and_resumes_sessions() {
        let t = generate("127.0.0.1".parse().unwrap()).unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from(t.ca_der.clone())).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        // A rustls client lists AES-256 first; the server's order wins.
        assert_eq!(
            provider.cipher_suites[0].suite(),
            rustls::CipherSuite::TLS13_AES_256_GCM_SHA384
        );
        let client = Arc::new(
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        );
        let first = handshake(client.clone(), t.server_config.clone());
        assert_eq!(
            first.negotiated_cipher_suite().map(|s| s.suite()),
            Some(rustls::CipherSuite::TLS13_AES_128_GCM_SHA256)
        );
        assert_eq!(first.handshake_kind(), Some(rustls::HandshakeKind::Full));
        // A client that keeps its sessions skips the certificate and its signature next time.
        let second = handshake(client, t.server_config.clone());
        assert_eq!(
            second.handshake_kind(),
            Some(rustls::HandshakeKind::Resumed)
        );
    }
}
