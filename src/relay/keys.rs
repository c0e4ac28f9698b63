//! Disco key pairs and the cache of precomputed shared boxes.

use std::collections::HashMap;
use std::fmt;

use crypto_box::{PublicKey, SalsaBox, SecretKey};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

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
    pub(crate) fn secret_bytes(&self) -> [u8; 32] {
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

/// The prefix of a private key file's line.
pub(crate) const PRIVATE_PREFIX: &str = "privkey:";
/// The prefix of a disco public key (as in the tailnet file).
pub(crate) const PUBLIC_PREFIX: &str = "discokey:";

/// A key that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The text does not start with the expected prefix.
    #[error("expected `{0}` followed by 64 hex digits")]
    MissingPrefix(&'static str),
    /// The hex part is not 64 hex digits.
    #[error("expected 64 hex digits after `{0}`")]
    BadHex(&'static str),
}

fn parse_hex_key(text: &str, prefix: &'static str) -> Result<[u8; 32], KeyError> {
    let hex = text
        .trim()
        .strip_prefix(prefix)
        .ok_or(KeyError::MissingPrefix(prefix))?;
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(KeyError::BadHex(prefix));
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        let pair = hex.get(2 * i..2 * i + 2).ok_or(KeyError::BadHex(prefix))?;
        *byte = u8::from_str_radix(pair, 16).map_err(|_| KeyError::BadHex(prefix))?;
    }
    Ok(key)
}

fn hex_key(prefix: &str, key: &[u8; 32]) -> String {
    let mut s = String::with_capacity(prefix.len() + 64);
    s.push_str(prefix);
    for b in key {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Parses a disco public key written `discokey:<64 hex>` (surrounding
/// whitespace ignored).
pub fn parse_public(text: &str) -> Result<DiscoKey, KeyError> {
    parse_hex_key(text, PUBLIC_PREFIX)
}

/// Writes a disco public key as `discokey:<64 hex>`.
pub fn public_text(key: &DiscoKey) -> String {
    hex_key(PUBLIC_PREFIX, key)
}

impl DiscoKeyPair {
    /// Reads a private key file's text, `privkey:<64 hex>` (surrounding
    /// whitespace ignored).
    pub fn from_private_text(text: &str) -> Result<Self, KeyError> {
        parse_hex_key(text, PRIVATE_PREFIX).map(Self::from_secret_bytes)
    }

    /// The private key file's text: `privkey:<64 hex>` and a newline.
    pub fn private_text(&self) -> String {
        let mut s = hex_key(PRIVATE_PREFIX, &self.secret_bytes());
        s.push('\n');
        s
    }
}

/// The first bytes of a key in hex, for logs (`d:0a1b2c3d`).
pub(crate) fn short_key(key: &DiscoKey) -> String {
    format!("d:{:02x}{:02x}{:02x}{:02x}", key[0], key[1], key[2], key[3])
}

/// Shared boxes (one X25519 each) cached per peer key, bounded: when full, one
/// entry chosen at random makes room for the new one, so the cache never holds
/// more than `capacity` entries and a burst of new keys does not flush every
/// other peer's key at once. (The relay checks a sender's membership before it
/// asks this cache, so unknown keys never get here.)
pub(crate) struct SharedKeyCache {
    keys: DiscoKeyPair,
    /// Each peer's box and its index in `order`.
    boxes: HashMap<DiscoKey, (SalsaBox, usize)>,
    /// The cached peers, for picking a random victim in O(1).
    order: Vec<DiscoKey>,
    capacity: usize,
    rng: StdRng,
}

impl SharedKeyCache {
    /// A cache for our key pair holding at most `capacity` peers.
    pub(crate) fn new(keys: DiscoKeyPair, capacity: usize) -> Self {
        Self {
            keys,
            boxes: HashMap::new(),
            order: Vec::new(),
            capacity: capacity.max(1),
            rng: StdRng::from_entropy(),
        }
    }

    /// Our key pair.
    pub(crate) fn keys(&self) -> &DiscoKeyPair {
        &self.keys
    }

    /// The shared box with `peer`, computed on first use.
    pub(crate) fn get(&mut self, peer: &DiscoKey) -> &SalsaBox {
        if !self.boxes.contains_key(peer) {
            while self.order.len() >= self.capacity {
                self.evict_one();
            }
        }
        let keys = &self.keys;
        let order = &mut self.order;
        let (shared, _) = self.boxes.entry(*peer).or_insert_with(|| {
            order.push(*peer);
            (keys.shared_with(peer), order.len() - 1)
        });
        shared
    }

    /// Removes one entry chosen at random.
    fn evict_one(&mut self) {
        if self.order.is_empty() {
            return;
        }
        let i = self.rng.gen_range(0..self.order.len());
        let victim = self.order.swap_remove(i);
        self.boxes.remove(&victim);
        // The former last entry now sits at `i`.
        if let Some(moved) = self.order.get(i) {
            if let Some(entry) = self.boxes.get_mut(moved) {
                entry.1 = i;
            }
        }
    }

    /// Whether `peer`'s box is cached.
    #[cfg(test)]
    pub(crate) fn contains(&self, peer: &DiscoKey) -> bool {
        self.boxes.contains_key(peer)
    }

    /// How many peers are cached.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.boxes.len()
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
    fn key_texts_round_trip() {
        let k = DiscoKeyPair::from_secret_bytes([0xab; 32]);
        let text = k.private_text();
        assert!(text.starts_with("privkey:abab") && text.ends_with('\n'));
        assert_eq!(text.len(), "privkey:".len() + 64 + 1);
        let again = DiscoKeyPair::from_private_text(&text).unwrap();
        assert_eq!(again.public(), k.public());
        let public = public_text(k.public());
        assert_eq!(parse_public(&public).unwrap(), *k.public());
        assert_eq!(parse_public(&format!(" {public}\n")).unwrap(), *k.public());
    }

    #[test]
    fn bad_key_texts_are_refused() {
        assert_eq!(
            parse_public("abcd"),
            Err(KeyError::MissingPrefix(PUBLIC_PREFIX))
        );
        assert_eq!(
            parse_public("discokey:0102"),
            Err(KeyError::BadHex(PUBLIC_PREFIX))
        );
        let bad = format!("discokey:{}", "zz".repeat(32));
        assert_eq!(parse_public(&bad), Err(KeyError::BadHex(PUBLIC_PREFIX)));
        let private = public_text(&[1; 32]);
        assert!(DiscoKeyPair::from_private_text(&private).is_err());
        assert_eq!(
            KeyError::BadHex(PUBLIC_PREFIX).to_string(),
            "expected 64 hex digits after `discokey:`"
        );
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
        // One entry made room: the other stays, the new one is in.
        assert_eq!(c.len(), 2);
        assert!(c.contains(&[4; 32]));
        assert!(c.contains(&[2; 32]) != c.contains(&[3; 32]));
    }

    #[test]
    fn eviction_keeps_the_index_consistent() {
        let mut c = SharedKeyCache::new(DiscoKeyPair::from_secret_bytes([1; 32]), 8);
        for n in 0..200u8 {
            c.get(&[n; 32]);
            assert!(c.contains(&[n; 32]));
            assert!(c.len() <= 8);
            assert_eq!(c.order.len(), c.boxes.len());
            for (i, k) in c.order.iter().enumerate() {
                assert_eq!(c.boxes[k].1, i);
            }
        }
        assert_eq!(c.len(), 8);
    }
}
