//! Disco key pairs and the cache of precomputed shared boxes.

use std::collections::HashMap;
use std::fmt;

use crypto_box::{PublicKey, SalsaBox, SecretKey};

use super::disco::DiscoKey;

/// A disco key pair: the private half stays in the process.
#[derive(Clone)]
pub struct DiscoKeyPair {
    secret: SecretKey,
    public: DiscoKey,
}

impl DiscoKeyPair {
    /// The key pair of a 32-byte private key.
    pub fn from_secret_bytes(secret: [u8; 32]) -> Self {
        let secret = SecretKey::from(secret);
        let public = *secret.public_key().as_bytes();
        Self { secret, public }
    }

    /// A fresh random key pair from the operating system's generator.
    pub fn generate() -> Self {
        use rand::RngCore;
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self::from_secret_bytes(bytes)
    }

    /// The public half.
    pub fn public(&self) -> &DiscoKey {
        &self.public
    }

    /// The private half, e.g. to write it to a key file.
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.secret.to_bytes()
    }

    /// The precomputed box between this key and `peer`.
    pub fn shared_with(&self, peer: &DiscoKey) -> SalsaBox {
        SalsaBox::new(&PublicKey::from(*peer), &self.secret)
    }
}

impl fmt::Debug for DiscoKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DiscoKeyPair")
            .field("public", &short_key(&self.public))
            .finish_non_exhaustive()
    }
}

/// The first bytes of a key in hex, for logs (`d:0a1b2c3d`).
pub fn short_key(key: &DiscoKey) -> String {
    format!("d:{:02x}{:02x}{:02x}{:02x}", key[0], key[1], key[2], key[3])
}

/// Shared boxes (one X25519 each) cached per peer key, bounded: when full the
/// cache starts over, so a flood of fresh sender keys costs memory only up to
/// `capacity` entries.
pub struct SharedKeyCache {
    keys: DiscoKeyPair,
    boxes: HashMap<DiscoKey, SalsaBox>,
    capacity: usize,
}

impl SharedKeyCache {
    /// A cache for our key pair holding at most `capacity` peers.
    pub fn new(keys: DiscoKeyPair, capacity: usize) -> Self {
        Self {
            keys,
            boxes: HashMap::new(),
            capacity: capacity.max(1),
        }
    }

    /// Our key pair.
    pub fn keys(&self) -> &DiscoKeyPair {
        &self.keys
    }

    /// The shared box with `peer`, computed on first use.
    pub fn get(&mut self, peer: &DiscoKey) -> &SalsaBox {
        if !self.boxes.contains_key(peer) && self.boxes.len() >= self.capacity {
            self.boxes.clear();
        }
        let keys = &self.keys;
        self.boxes
            .entry(*peer)
            .or_insert_with(|| keys.shared_with(peer))
    }

    /// How many peers are cached.
    pub fn len(&self) -> usize {
        self.boxes.len()
    }

    /// Whether no peer is cached.
    pub fn is_empty(&self) -> bool {
        self.boxes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_key_is_derived() {
        let k = DiscoKeyPair::from_secret_bytes([7; 32]);
        let again = DiscoKeyPair::from_secret_bytes(k.secret_bytes());
        assert_eq!(k.public(), again.public());
        assert!(format!("{k:?}").starts_with("DiscoKeyPair { public: \"d:"));
    }

    #[test]
    fn cache_is_bounded() {
        let mut c = SharedKeyCache::new(DiscoKeyPair::from_secret_bytes([1; 32]), 2);
        c.get(&[2; 32]);
        c.get(&[3; 32]);
        assert_eq!(c.len(), 2);
        c.get(&[3; 32]);
        assert_eq!(c.len(), 2);
        c.get(&[4; 32]);
        assert_eq!(c.len(), 1);
    }
}
