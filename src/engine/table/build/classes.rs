//! Source classes: the partition of the address space into sets of addresses that are in
//! exactly the same rule source sets, so that every rule treats the addresses of one class
//! alike.
//!
//! Invariants: one [`IntervalMap`] per family covers the whole family (its first start is 0);
//! adjacent intervals have different classes; `u32::MAX` marks addresses in no source set;
//! `of_source[s]` lists the classes inside source set `s`, each once.

use super::intern::index;
use crate::engine::resolve::AddrSet;
use crate::engine::table::IntervalMap;
use std::collections::HashMap;

/// The partition of the address space into source classes.
pub(super) struct Classes {
    pub(super) v4: IntervalMap,
    pub(super) v6: IntervalMap,
    /// For each source set, the classes inside it.
    pub(super) of_source: Vec<Vec<u32>>,
}

impl Classes {
    /// The class of an address (`u32::MAX`: in no source set).
    pub(super) fn of(&self, key: (bool, u128)) -> u32 {
        let map = if key.0 { &self.v4 } else { &self.v6 };
        map.get(key.1).unwrap_or(u32::MAX)
    }
}

/// The source classes of a list of source sets.
pub(super) fn classes(sources: &[AddrSet]) -> Classes {
    let mut by_key: HashMap<Vec<u32>, u32> = HashMap::new();
    let mut of_source: Vec<Vec<u32>> = vec![Vec::new(); sources.len()];
    let mut family = |is4: bool| {
        let mut bounds: Vec<u128> = vec![0];
        for s in sources {
            for &(a, b) in s.family_ranges(is4) {
                bounds.push(a);
                if let Some(n) = b.checked_add(1) {
                    bounds.push(n);
                }
            }
        }
        bounds.sort_unstable();
        bounds.dedup();
        let mut cover: Vec<Vec<u32>> = vec![Vec::new(); bounds.len()];
        for (si, s) in sources.iter().enumerate() {
            for &(a, b) in s.family_ranges(is4) {
                let i = bounds.partition_point(|x| *x < a);
                let j = b
                    .checked_add(1)
                    .map_or(bounds.len(), |n| bounds.partition_point(|x| *x < n));
                for c in cover.get_mut(i..j).into_iter().flatten() {
                    c.push(index(si));
                }
            }
        }
        let mut map = IntervalMap::default();
        for (start, covered) in bounds.iter().zip(cover) {
            let class = if covered.is_empty() {
                u32::MAX
            } else {
                let next = index(by_key.len());
                match by_key.get(&covered) {
                    Some(&c) => c,
                    None => {
                        for &s in &covered {
                            if let Some(v) = of_source.get_mut(s as usize) {
                                v.push(next);
                            }
                        }
                        by_key.insert(covered, next);
                        next
                    }
                }
            };
            map.push(*start, class);
        }
        map
    };
    let v4 = family(true);
    let v6 = family(false);
    Classes { v4, v6, of_source }
}
