//! The relay's bind challenge: a keyed BLAKE2s-256 MAC over the endpoint's
//! VNI, the client's generation, the other client's disco key and the
//! client's source address. The relay keeps no per-challenge state; the key is
//! rotated every `rotation` and the previous key is still accepted, so an
//! answer is valid for between one and two rotation periods.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use blake2::digest::{KeyInit, Mac};
use blake2::Blake2sMac256;
use rand::RngCore;

use super::disco::{mapped_ip, DiscoKey};

/// Tailscale rotates the challenge key every two minutes.
pub(crate) const DEFAULT_ROTATION: Duration = Duration::from_secs(120);

/// The current and previous MAC keys.
pub(crate) struct ChallengeKeys {
    current: [u8; 32],
    previous: Option<[u8; 32]>,
    rotated_at: Instant,
    rotation: Duration,
}

/// What a challenge binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChallengeInput<'a> {
    /// The endpoint's VNI.
    pub(crate) vni: u32,
    /// The client's bind generation.
    pub(crate) generation: u32,
    /// The other client's disco key.
    pub(crate) remote_key: &'a DiscoKey,
    /// Where the client's bind came from.
    pub(crate) source: SocketAddr,
}

impl ChallengeKeys {
    /// Fresh keys, rotated every `rotation` from `now`.
    pub(crate) fn new(rng: &mut impl RngCore, rotation: Duration, now: Instant) -> Self {
        let mut current = [0u8; 32];
        rng.fill_bytes(&mut current);
        Self {
            current,
            previous: None,
            rotated_at: now,
            rotation,
        }
    }

    /// Rotates the keys if a period has passed; after two idle periods both
    /// keys are replaced.
    pub(crate) fn rotate_if_due(&mut self, rng: &mut impl RngCore, now: Instant) {
        let since = now.saturating_duration_since(self.rotated_at);
        if since < self.rotation {
            return;
        }
        let mut next = [0u8; 32];
        rng.fill_bytes(&mut next);
        self.previous = if since < self.rotation * 2 {
            Some(self.current)
        } else {
            None
        };
        self.current = next;
        self.rotated_at = now;
    }

    /// The challenge for `input` under the current key.
    pub(crate) fn challenge(&self, input: &ChallengeInput<'_>) -> [u8; 32] {
        mac(&self.current, input)
    }

    /// Whether `answer` is the challenge for `input` under the current or the
    /// previous key (compared in constant time).
    pub(crate) fn verify(&self, input: &ChallengeInput<'_>, answer: &[u8; 32]) -> bool {
        let ok = |key: &[u8; 32]| mac_state(key, input).verify_slice(answer).is_ok();
        ok(&self.current) || self.previous.as_ref().is_some_and(ok)
    }
}

fn mac_state(key: &[u8; 32], input: &ChallengeInput<'_>) -> Blake2sMac256 {
    let mut m = <Blake2sMac256 as KeyInit>::new(key.into());
    m.update(&input.vni.to_be_bytes());
    m.update(&input.generation.to_be_bytes());
    m.update(input.remote_key);
    m.update(&mapped_ip(input.source.ip()).octets());
    m.update(&input.source.port().to_be_bytes());
    m
}

fn mac(key: &[u8; 32], input: &ChallengeInput<'_>) -> [u8; 32] {
    mac_state(key, input).finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn input(source: &str) -> ChallengeInput<'static> {
        ChallengeInput {
            vni: 7,
            generation: 1,
            remote_key: &[3; 32],
            source: source.parse().unwrap(),
        }
    }

    #[test]
    fn challenge_binds_every_field() {
        let mut rng = StdRng::seed_from_u64(1);
        let keys = ChallengeKeys::new(&mut rng, DEFAULT_ROTATION, Instant::now());
        let base = input("127.0.0.1:1000");
        let c = keys.challenge(&base);
        assert!(keys.verify(&base, &c));
        assert!(!keys.verify(&input("127.0.0.1:1001"), &c));
        assert!(!keys.verify(&ChallengeInput { vni: 8, ..base }, &c));
        assert!(!keys.verify(
            &ChallengeInput {
                generation: 2,
                ..base
            },
            &c
        ));
        assert!(!keys.verify(
            &ChallengeInput {
                remote_key: &[4; 32],
                ..base
            },
            &c
        ));
    }

    #[test]
    fn two_keys_are_kept() {
        let mut rng = StdRng::seed_from_u64(2);
        let t0 = Instant::now();
        let mut keys = ChallengeKeys::new(&mut rng, DEFAULT_ROTATION, t0);
        let i = input("[::1]:5");
        let c = keys.challenge(&i);
        keys.rotate_if_due(&mut rng, t0 + Duration::from_secs(119));
        assert_eq!(keys.challenge(&i), c);
        keys.rotate_if_due(&mut rng, t0 + Duration::from_secs(120));
        assert_ne!(keys.challenge(&i), c);
        assert!(keys.verify(&i, &c), "previous key still accepted");
        keys.rotate_if_due(&mut rng, t0 + Duration::from_secs(240));
        assert!(!keys.verify(&i, &c), "two rotations later it is gone");
    }

    #[test]
    fn long_idle_replaces_both_keys() {
        let mut rng = StdRng::seed_from_u64(3);
        let t0 = Instant::now();
        let mut keys = ChallengeKeys::new(&mut rng, DEFAULT_ROTATION, t0);
        let i = input("127.0.0.1:9");
        let c = keys.challenge(&i);
        keys.rotate_if_due(&mut rng, t0 + Duration::from_secs(1000));
        assert!(!keys.verify(&i, &c));
    }
}
