//! The keyword search of processes that scan megabytes: a trigram filter, then a comparison.
//!
//! A keyword automaton (a DFA of any kind) pays one dependent table lookup per byte, which
//! dominates a scan of megabytes (BENCHMARKS.md). Here each position of the text
//! costs a few independent instructions instead: its first three bytes, ASCII-folded and
//! hashed, index a 64 Kibit table (8 KiB, stays in L1) that says whether a keyword may start
//! there. About one position in fifty passes in transcript text (`token`, `key`, `pass`, `main`
//! share their first three bytes with a keyword); only there are the keywords of that trigram
//! compared, ASCII case-insensitively. Building it takes tens of microseconds, so it is only
//! built by processes that scan more than a hook does (see [`super::keywords`]).

/// Bits of the filter's index: 2^16 bits for a few hundred trigrams keeps false positives of
/// the hash well under one position in a hundred.
const FILTER_BITS: u32 = 16;
const FILTER_WORDS: usize = 1 << (FILTER_BITS - 6);
/// Bits of the bucket index (a prefix of the filter's index): few trigrams share a bucket.
const BUCKET_BITS: u32 = 12;

pub(super) struct Trigrams {
    words: Vec<&'static [u8]>,
    /// Bit `h` set when a keyword's first three bytes hash to `h` (an array: its index needs
    /// no bounds check).
    filter: Box<[u64; FILTER_WORDS]>,
    /// The keywords of bucket `b` are `entries[heads[b]..heads[b + 1]]`.
    heads: Vec<u32>,
    entries: Vec<Entry>,
}

/// A keyword in a bucket, with its first eight bytes folded (`| 0x20`) as one word: most
/// positions that pass the filter (`main` for `mailgun`, `message` for `age-secret-key-1`)
/// are told apart from the keyword by one comparison of eight bytes, not a loop over its bytes.
struct Entry {
    id: u16,
    prefix: u64,
    /// `0xff` for each of the first eight bytes the keyword has.
    mask: u64,
}

const FOLD: u64 = 0x2020_2020_2020_2020;

/// Hash of the first three bytes of `x` (little-endian), ASCII-folded: `| 0x20` maps `A`-`Z`
/// onto `a`-`z`, so equal letters in any case hash alike (other bytes may collide, which only
/// costs a comparison).
#[inline(always)]
fn hash(x: u32) -> u32 {
    ((x | 0x0020_2020) & 0x00FF_FFFF).wrapping_mul(0x9E37_79B1)
}

impl Trigrams {
    /// `None` when a keyword is shorter than two bytes (its trigrams would be most of them) or
    /// there are more than a `u16` numbers.
    pub(super) fn new(words: &[&'static str]) -> Option<Trigrams> {
        if words.len() > usize::from(u16::MAX) || words.iter().any(|w| w.len() < 2) {
            return None;
        }
        let mut keyed: Vec<(u32, u16)> = Vec::new();
        for (id, w) in words.iter().enumerate() {
            let b = w.as_bytes();
            // A two-byte keyword starts every trigram that begins with it.
            let thirds: Vec<u8> = match b.get(2) {
                Some(&c) => vec![c],
                None => (0..=255).collect(),
            };
            for c in thirds {
                keyed.push((hash(u32::from_le_bytes([b[0], b[1], c, 0])), id as u16));
            }
        }
        let mut filter = Box::new([0u64; FILTER_WORDS]);
        for &(h, _) in &keyed {
            let bit = h >> (32 - FILTER_BITS);
            filter[(bit >> 6) as usize] |= 1 << (bit & 63);
        }
        let bucket = |h: u32| (h >> (32 - BUCKET_BITS)) as usize;
        keyed.sort_by_key(|&(h, id)| (bucket(h), id));
        keyed.dedup_by_key(|&mut (h, id)| (bucket(h), id));
        let mut heads = vec![0u32; (1 << BUCKET_BITS) + 1];
        for &(h, _) in &keyed {
            heads[bucket(h) + 1] += 1;
        }
        for b in 0..1 << BUCKET_BITS {
            heads[b + 1] += heads[b];
        }
        let entries = keyed
            .iter()
            .map(|&(_, id)| {
                let w = words[usize::from(id)].as_bytes();
                let mut first = [0u8; 8];
                let n = w.len().min(8);
                first[..n].copy_from_slice(&w[..n]);
                let mask = u64::MAX >> (8 * (8 - n));
                Entry { id, prefix: (u64::from_le_bytes(first) | FOLD) & mask, mask }
            })
            .collect();
        Some(Trigrams { words: words.iter().map(|w| w.as_bytes()).collect(), filter, heads, entries })
    }

    /// Calls `found(start, keyword index)` for every occurrence of every keyword in `text`,
    /// overlapping ones included, in ascending order of start (keywords that start at the same
    /// position in no particular order).
    pub(super) fn find(&self, text: &[u8], mut found: impl FnMut(usize, usize)) {
        // One unaligned load per position (cheaper than sliding a window along).
        for at in 0..text.len().saturating_sub(3) {
            let x = u32::from_le_bytes(text[at..at + 4].try_into().unwrap());
            self.at(text, at, x, &mut found);
        }
        // The last three positions, their missing bytes read as zero.
        for at in text.len().saturating_sub(3)..text.len() {
            let mut x = [0u8; 4];
            x[..text.len() - at].copy_from_slice(&text[at..]);
            self.at(text, at, u32::from_le_bytes(x), &mut found);
        }
    }

    /// The keywords starting at `at`, whose first bytes are `x`.
    #[inline(always)]
    fn at(&self, text: &[u8], at: usize, x: u32, found: &mut impl FnMut(usize, usize)) {
        let h = hash(x);
        let bit = h >> (32 - FILTER_BITS);
        if self.filter[(bit >> 6) as usize] & (1 << (bit & 63)) != 0 {
            self.compare(text, at, h, found);
        }
    }

    /// Kept out of line: the filter's loop stays small, and this runs rarely.
    #[inline(never)]
    fn compare(&self, text: &[u8], at: usize, h: u32, found: &mut impl FnMut(usize, usize)) {
        let b = (h >> (32 - BUCKET_BITS)) as usize;
        // Folded alike, equal letters in any case stay equal: a necessary condition.
        let first = text.get(at..at + 8).map(|t| u64::from_le_bytes(t.try_into().unwrap()) | FOLD);
        for e in &self.entries[self.heads[b] as usize..self.heads[b + 1] as usize] {
            if first.is_some_and(|x| x & e.mask != e.prefix) {
                continue;
            }
            let w = self.words[usize::from(e.id)];
            if text.get(at..at + w.len()).is_some_and(|t| t.eq_ignore_ascii_case(w)) {
                found(at, usize::from(e.id));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(t: &Trigrams, text: &str) -> Vec<(usize, usize)> {
        let mut v = Vec::new();
        t.find(text.as_bytes(), |at, id| v.push((at, id)));
        v.sort();
        v
    }

    #[test]
    fn finds_every_occurrence_in_any_case_up_to_the_last_byte() {
        let t = Trigrams::new(&["pw", "pwd", "token", "q~", "secret_access_key"]).unwrap();
        assert_eq!(all(&t, "PWD=1 Tokenq~ pw"), vec![(0, 0), (0, 1), (6, 2), (11, 3), (14, 0)]);
        assert_eq!(all(&t, "pw"), vec![(0, 0)]);
        assert_eq!(all(&t, "xpW"), vec![(1, 0)]);
        assert_eq!(all(&t, "p"), vec![]);
        assert_eq!(all(&t, "tokens and pass"), vec![(0, 2)]);
        // The filter folds `^` onto `~` as it folds `Q` onto `q`; the comparison does not.
        assert_eq!(all(&t, "Q^ Q~"), vec![(3, 3)]);
        // Past eight bytes, and differing only there.
        assert_eq!(all(&t, "SECRET_Access_KEY secret_access_kez"), vec![(0, 4)]);
    }

    #[test]
    fn one_byte_keywords_are_refused() {
        assert!(Trigrams::new(&["ab", "c"]).is_none());
    }
}
