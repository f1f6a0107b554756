//! Key material the providers share: X.509 certificates (WeChat Pay's merchant API
//! certificate and platform certificate) and checking that two keys are one pair.

use rsa::{
    pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey},
    pkcs8::{DecodePrivateKey, DecodePublicKey},
    RsaPrivateKey, RsaPublicKey,
};
use x509_cert::{
    der::{DecodePem, Encode},
    Certificate,
};

/// The RSA public key and the serial number (uppercase hex, as WeChat Pay writes it) of an
/// X.509 certificate in PEM.
pub fn certificate_key(pem: &str) -> Result<(RsaPublicKey, String), &'static str> {
    let cert = Certificate::from_pem(pem.trim().as_bytes()).map_err(|_| "is not an X.509 certificate in PEM")?;
    let spki = cert.tbs_certificate.subject_public_key_info.to_der().map_err(|_| "has an unreadable public key")?;
    let key = RsaPublicKey::from_public_key_der(&spki).map_err(|_| "does not hold an RSA public key")?;
    let bytes = cert.tbs_certificate.serial_number.as_bytes();
    // A DER integer gains a leading zero byte when its top bit is set; serials are written without.
    let bytes = match bytes {
        [0, rest @ ..] if !rest.is_empty() => rest,
        all => all,
    };
    Ok((key, bytes.iter().map(|b| format!("{b:02X}")).collect()))
}

/// Whether `public` is the public half of `private`.
pub fn is_pair(private: &RsaPrivateKey, public: &RsaPublicKey) -> bool {
    RsaPublicKey::from(private) == *public
}

/// Whether a PEM text is a certificate rather than a bare key.
pub fn is_certificate(pem: &str) -> bool {
    pem.trim_start().starts_with("-----BEGIN CERTIFICATE-----")
}

/// An RSA private key in PKCS#8 or PKCS#1 PEM, if it is one.
pub fn private_key_from_pem(pem: &str) -> Option<RsaPrivateKey> {
    let pem = pem.trim();
    RsaPrivateKey::from_pkcs8_pem(pem).or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem)).ok()
}

/// The RSA public key a PEM text holds: a bare key (SPKI or PKCS#1) or a certificate's.
pub fn public_key_from_pem(pem: &str) -> Option<RsaPublicKey> {
    let pem = pem.trim();
    if is_certificate(pem) {
        return certificate_key(pem).ok().map(|(key, _)| key);
    }
    RsaPublicKey::from_public_key_pem(pem).or_else(|_| RsaPublicKey::from_pkcs1_pem(pem)).ok()
}

/// Whether `public_pem` (a key or a certificate) holds the public half of `private_pem`: a
/// party's own key where the other party's is expected. False when either does not parse
/// (that is reported by the format checks).
pub fn is_own_public_key(private_pem: &str, public_pem: &str) -> bool {
    match (private_key_from_pem(private_pem), public_key_from_pem(public_pem)) {
        (Some(private), Some(public)) => is_pair(&private, &public),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use rsa::pkcs8::DecodePrivateKey;

    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("{}/../tests/fixtures/keys/{name}", env!("CARGO_MANIFEST_DIR")))
            .unwrap_or_default()
    }

    #[test]
    fn certificates_give_their_key_and_serial() {
        let (key, serial) = certificate_key(&fixture("wechat_merchant_a.cert.pem")).expect("certificate");
        assert_eq!(serial, "5157F09EFDC096DE15EBE81A47057A7232F1B8E1");
        let private_a = RsaPrivateKey::from_pkcs8_pem(&fixture("wechat_merchant_a.pem")).expect("key a");
        let private_b = RsaPrivateKey::from_pkcs8_pem(&fixture("wechat_merchant_b.pem")).expect("key b");
        assert!(is_pair(&private_a, &key));
        assert!(!is_pair(&private_b, &key));
        assert!(is_certificate(&fixture("wechat_merchant_a.cert.pem")));
        assert!(!is_certificate(&fixture("wechat_merchant_a.pub.pem")));
        assert!(certificate_key(&fixture("wechat_merchant_a.pub.pem")).is_err());
        assert!(certificate_key("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----").is_err());
    }

    #[test]
    fn a_party_s_own_public_key_is_recognised_bare_or_in_its_certificate() {
        let private_a = fixture("wechat_merchant_a.pem");
        assert!(is_own_public_key(&private_a, &fixture("wechat_merchant_a.pub.pem")));
        assert!(is_own_public_key(&private_a, &fixture("wechat_merchant_a.cert.pem")));
        assert!(!is_own_public_key(&private_a, &fixture("wechat_platform.pub.pem")));
        assert!(!is_own_public_key(&private_a, &fixture("wechat_merchant_b.cert.pem")));
        assert!(!is_own_public_key(&private_a, "garbage"));
        assert!(!is_own_public_key("garbage", &fixture("wechat_merchant_a.pub.pem")));
    }
}
