//! What the push channel is configured with: a Firebase project's service account key.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use crate::Error;

/// A Google service account key, as the JSON file the Firebase console gives.
#[derive(Clone, Deserialize)]
pub struct ServiceAccount {
    pub project_id: String,
    pub client_email: String,
    /// PKCS#8, PEM.
    pub private_key: String,
    /// Where access tokens are minted (`https://oauth2.googleapis.com/token`).
    pub token_uri: String,
}

impl fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServiceAccount({} of {}, token_uri {})", self.client_email, self.project_id, self.token_uri)
    }
}

impl ServiceAccount {
    /// The key file's JSON; says what is missing or wrong.
    pub fn parse(json: &str) -> Result<ServiceAccount, Error> {
        let account: ServiceAccount = serde_json::from_str(json).map_err(|e| {
            Error::Permanent(format!(
                "the push service account key is not a Google service account JSON key (project_id, client_email, private_key, token_uri): {e}"
            ))
        })?;
        for (name, value) in
            [("project_id", &account.project_id), ("client_email", &account.client_email), ("token_uri", &account.token_uri)]
        {
            if value.trim().is_empty() {
                return Err(Error::Permanent(format!("the push service account key has no {name}")));
            }
        }
        account.key_pair()?;
        Ok(account)
    }

    /// The RSA key pair of `private_key`.
    pub(crate) fn key_pair(&self) -> Result<ring::signature::RsaKeyPair, Error> {
        use base64::Engine as _;
        let body: String = self.private_key.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("-----")).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|e| Error::Permanent(format!("the push service account's private_key is not PEM: {e}")))?;
        ring::signature::RsaKeyPair::from_pkcs8(&der)
            .map_err(|e| Error::Permanent(format!("the push service account's private_key is not an RSA key in PKCS#8: {e}")))
    }
}

#[derive(Debug, Clone)]
pub struct PushOptions {
    /// `https://fcm.googleapis.com`; a stand-in's address in tests.
    pub base_url: String,
    pub service_account: ServiceAccount,
    pub timeout: Duration,
    pub limits: crate::Limits,
}

impl PushOptions {
    pub const FCM: &str = "https://fcm.googleapis.com";
}
