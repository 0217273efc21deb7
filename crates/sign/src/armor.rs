//! Strict ASCII armor: OpenPGP (RFC 9580 §6.2) and SSH signatures (PROTOCOL.sshsig), and the
//! base64 under both.
//!
//! Both are removed by hand, once, because it is fast (parsing an armored OpenPGP signature
//! through Sequoia's armor auto-detection cost ~22–27 µs, this plus a binary parse ~5 µs) and
//! because the lenient readers accepted armor that the reference tools refuse (a wrong CRC-24,
//! no blank line after the BEGIN line, extra bytes on it). The rules here are a strict subset
//! of what gpg and ssh-keygen accept: exactly what git writes into objects, with a few
//! harmless variants (armor headers, a missing CRC) that real signers produce. Every refusal
//! says which line is wrong.

/// base64 alphabet value of each byte, or `INVALID`.
const INVALID: u8 = 0xff;
const DECODE: [u8; 256] = {
    let mut t = [INVALID; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < alphabet.len() {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t
};

/// Decodes canonical, padded base64 (RFC 4648 §4) with nothing else in it: no whitespace, no
/// characters outside the alphabet, `=` only as the final padding, unused bits zero. Appends
/// to `out`.
pub(crate) fn base64_decode_strict(s: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    if s.is_empty() {
        return Err("the base64 text is empty".into());
    }
    if !s.len().is_multiple_of(4) {
        return Err(format!(
            "the base64 text has {} characters, not a multiple of 4",
            s.len()
        ));
    }
    let pad = s.iter().rev().take_while(|&&b| b == b'=').count();
    if pad > 2 {
        return Err("the base64 text ends with more than two '='".into());
    }
    let body = s.get(..s.len() - pad).unwrap_or_default();
    out.reserve(body.len() / 4 * 3 + 2);
    let value = |b: u8| -> Result<u32, String> {
        match DECODE[usize::from(b)] {
            INVALID if b == b'=' => Err("'=' inside the base64 text".to_string()),
            INVALID => Err(format!("the byte 0x{b:02x} is not base64")),
            v => Ok(u32::from(v)),
        }
    };
    let mut chunks = body.chunks_exact(4);
    for c in &mut chunks {
        let n = (value(c[0])? << 18) | (value(c[1])? << 12) | (value(c[2])? << 6) | value(c[3])?;
        out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
    }
    match *chunks.remainder() {
        [] => {}
        [a, b] => {
            let n = (value(a)? << 18) | (value(b)? << 12);
            if n & 0xffff != 0 {
                return Err("the base64 text has non-zero bits in its padding".into());
            }
            out.push((n >> 16) as u8);
        }
        [a, b, c] => {
            let n = (value(a)? << 18) | (value(b)? << 12) | (value(c)? << 6);
            if n & 0xff != 0 {
                return Err("the base64 text has non-zero bits in its padding".into());
            }
            out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8]);
        }
        // `pad <= 2` and the length is a multiple of 4.
        _ => return Err("the base64 text is truncated".into()),
    }
    Ok(())
}

/// CRC-24 of RFC 9580 §6.1 (the OpenPGP armor checksum).
pub(crate) fn crc24(data: &[u8]) -> u32 {
    const INIT: u32 = 0x00B7_04CE;
    const POLY: u32 = 0x0186_4CFB;
    const TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = (i as u32) << 16;
            let mut k = 0;
            while k < 8 {
                c <<= 1;
                if c & 0x0100_0000 != 0 {
                    c ^= POLY;
                }
                k += 1;
            }
            t[i] = c & 0x00FF_FFFF;
            i += 1;
        }
        t
    };
    data.iter().fold(INIT, |crc, &b| {
        let i = usize::from(((crc >> 16) as u8) ^ b);
        ((crc << 8) ^ TABLE[i]) & 0x00FF_FFFF
    })
}

/// Splits armored text into lines. The text must end with its last line, optionally followed
/// by one `\n`; a `\r` anywhere is refused (git strips them from the signatures it stores).
fn lines<'a>(armored: &'a [u8], what: &str) -> Result<Vec<&'a [u8]>, String> {
    if armored.contains(&b'\r') {
        return Err(format!("the {what} armor contains a carriage return"));
    }
    let text = armored.strip_suffix(b"\n").unwrap_or(armored);
    Ok(text.split(|&b| b == b'\n').collect())
}

fn show(line: &[u8]) -> String {
    let s = String::from_utf8_lossy(line);
    let mut shown: String = s.chars().take(60).collect();
    if s.chars().count() > 60 {
        shown.push('…');
    }
    format!("{shown:?}")
}

/// The armor header keys of RFC 9580 §6.2.2.1.
const ARMOR_HEADER_KEYS: [&[u8]; 5] = [b"Version", b"Comment", b"Hash", b"Charset", b"MessageID"];

/// Removes OpenPGP ASCII armor, strictly:
///
/// ```text
/// -----BEGIN PGP SIGNATURE-----      (or PGP MESSAGE; nothing else on the line)
/// Key: value                         (optional, RFC 9580 keys only)
///                                    (the blank line)
/// base64 lines                       (canonical base64 taken together)
/// =XXXX                              (optional CRC-24; if present it must match)
/// -----END PGP SIGNATURE-----        (the same kind; then at most one newline)
/// ```
pub(crate) fn dearmor_openpgp(armored: &[u8]) -> Result<Vec<u8>, String> {
    dearmor_openpgp_kinds(armored, &[b"PGP SIGNATURE", b"PGP MESSAGE"])
}

/// [`dearmor_openpgp`] for an exported certificate (`PGP PUBLIC KEY BLOCK`): the trust store
/// tries it first on key files, since Sequoia's armor reader took most of the time of loading
/// the keys; a file it refuses is read by Sequoia as before.
pub(crate) fn dearmor_openpgp_cert(armored: &[u8]) -> Result<Vec<u8>, String> {
    dearmor_openpgp_kinds(armored, &[b"PGP PUBLIC KEY BLOCK"])
}

fn dearmor_openpgp_kinds(armored: &[u8], kinds: &[&[u8]]) -> Result<Vec<u8>, String> {
    let lines = lines(armored, "OpenPGP")?;
    let mut it = lines.iter().copied().enumerate().map(|(i, l)| (i + 1, l));
    let (_, begin) = it.next().ok_or("the OpenPGP armor is empty")?;
    let kind = kinds
        .iter()
        .find(|k| {
            begin
                .strip_prefix(b"-----BEGIN ")
                .and_then(|r| r.strip_prefix(**k))
                .is_some_and(|r| r == b"-----")
        })
        .ok_or_else(|| {
            let known = kinds.iter().any(|k| {
                begin
                    .strip_prefix(b"-----BEGIN ")
                    .and_then(|r| r.strip_prefix(*k))
                    .is_some_and(|r| r.starts_with(b"-----"))
            });
            if known {
                format!(
                    "the OpenPGP armor's BEGIN line has extra bytes after its dashes: {}",
                    show(begin)
                )
            } else {
                format!("the OpenPGP armor's BEGIN line is not one: {}", show(begin))
            }
        })?;
    // Armor headers, then the blank line.
    loop {
        let (n, line) = it
            .next()
            .ok_or("the OpenPGP armor ends after its headers")?;
        if line.is_empty() {
            break;
        }
        let key = line
            .iter()
            .position(|&b| b == b':')
            .and_then(|i| line.get(..i))
            .filter(|k| line.get(k.len()..k.len() + 2) == Some(b": "));
        match key {
            Some(k) if ARMOR_HEADER_KEYS.contains(&k) => {}
            Some(k) => {
                return Err(format!(
                    "the OpenPGP armor has an unknown header {} on line {n}",
                    show(k)
                ))
            }
            None if n == 2 => {
                return Err(format!(
                    "the OpenPGP armor has no blank line after its BEGIN line (line 2 is {})",
                    show(line)
                ))
            }
            None => {
                return Err(format!(
                    "the OpenPGP armor's line {n} is neither a `Key: value` header nor the \
                     blank line that ends the headers: {}",
                    show(line)
                ))
            }
        }
    }
    // The base64 body, up to the checksum or the END line.
    let mut b64 = Vec::with_capacity(armored.len());
    let mut crc_line = None;
    let end_line = loop {
        let (n, line) = it.next().ok_or("the OpenPGP armor has no END line")?;
        if line.starts_with(b"-----") {
            break (n, line);
        }
        if line.first() == Some(&b'=') && !b64.is_empty() {
            crc_line = Some((n, line));
            let (n, line) = it.next().ok_or("the OpenPGP armor has no END line")?;
            break (n, line);
        }
        if line.is_empty() {
            return Err(format!(
                "the OpenPGP armor has an empty line {n} in its data"
            ));
        }
        b64.extend_from_slice(line);
    };
    let (n, end) = end_line;
    let end_ok = end
        .strip_prefix(b"-----END ")
        .and_then(|r| r.strip_prefix(*kind))
        .is_some_and(|r| r == b"-----");
    if !end_ok {
        return Err(format!(
            "the OpenPGP armor's line {n} should be -----END {}-----: {}",
            String::from_utf8_lossy(kind),
            show(end)
        ));
    }
    if let Some((n, _)) = it.next() {
        return Err(format!(
            "the OpenPGP armor has text after its END line (line {n})"
        ));
    }
    let mut binary = Vec::with_capacity(b64.len() / 4 * 3);
    base64_decode_strict(&b64, &mut binary)
        .map_err(|e| format!("the OpenPGP armor's data is not strict base64: {e}"))?;
    if let Some((n, line)) = crc_line {
        let text = line.get(1..).unwrap_or_default();
        let mut crc = Vec::with_capacity(3);
        if text.len() != 4 {
            return Err(format!(
                "the OpenPGP armor's checksum line {n} is not `=` and 4 base64 characters"
            ));
        }
        base64_decode_strict(text, &mut crc)
            .map_err(|e| format!("the OpenPGP armor's checksum line {n} is malformed: {e}"))?;
        let stated = crc.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
        let computed = crc24(&binary);
        if stated != computed {
            return Err(format!(
                "the OpenPGP armor's CRC-24 checksum {stated:06X} does not match its data \
                 ({computed:06X})"
            ));
        }
    }
    Ok(binary)
}

/// Removes the armor of an SSH signature, strictly: `-----BEGIN SSH SIGNATURE-----`, base64
/// lines (canonical base64 taken together), `-----END SSH SIGNATURE-----`, at most one
/// newline. ssh-keygen also accepts `\r\n`, whitespace inside the base64 and text after the
/// END line; none of those occur in what git stores.
pub(crate) fn dearmor_ssh(armored: &[u8]) -> Result<Vec<u8>, String> {
    const BEGIN: &[u8] = b"-----BEGIN SSH SIGNATURE-----";
    const END: &[u8] = b"-----END SSH SIGNATURE-----";
    let lines = lines(armored, "SSH signature")?;
    let (first, rest) = lines.split_first().ok_or("the SSH signature is empty")?;
    if *first != BEGIN {
        return Err(if first.starts_with(BEGIN) {
            format!(
                "the SSH signature's BEGIN line has extra bytes after its dashes: {}",
                show(first)
            )
        } else {
            format!("the SSH signature's BEGIN line is not one: {}", show(first))
        });
    }
    let (last, body) = rest
        .split_last()
        .ok_or("the SSH signature has no END line")?;
    if *last != END {
        let n = lines.len();
        return Err(match body.iter().position(|l| l.starts_with(b"-----END")) {
            Some(i) => format!(
                "the SSH signature has text after its END line (line {})",
                i + 3
            ),
            None => format!(
                "the SSH signature's last line {n} should be -----END SSH SIGNATURE-----: {}",
                show(last)
            ),
        });
    }
    let mut b64 = Vec::with_capacity(armored.len());
    for (i, line) in body.iter().enumerate() {
        if line.is_empty() {
            return Err(format!(
                "the SSH signature has an empty line {} in its data",
                i + 2
            ));
        }
        b64.extend_from_slice(line);
    }
    let mut blob = Vec::with_capacity(b64.len() / 4 * 3);
    base64_decode_strict(&b64, &mut blob)
        .map_err(|e| format!("the SSH signature's data is not strict base64: {e}"))?;
    Ok(blob)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        base64_decode_strict(s.as_bytes(), &mut out).map(|()| out)
    }

    #[test]
    fn base64_is_canonical_only() {
        assert_eq!(b64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(b64("aGVsbA==").unwrap(), b"hell");
        assert_eq!(b64("aGVs").unwrap(), b"hel");
        assert!(b64("aGVsbG9=").is_err(), "non-zero padding bits");
        assert!(b64("aGVsbB==").is_err(), "non-zero padding bits");
        assert!(b64("aGVsbG8").is_err(), "missing padding");
        assert!(b64("aGV=bG8=").is_err(), "'=' inside");
        assert!(b64("aGVs bG8=").is_err(), "space");
        assert!(b64("aGVs\nbG8=").is_err(), "newline");
        assert!(b64("a===").is_err());
        assert!(b64("").is_err());
        assert!(b64("aGVsbG8-").is_err(), "url-safe alphabet");
    }

    #[test]
    fn crc24_matches_rfc_example() {
        // RFC 9580 §6.2: the empty input's CRC is the initial value; "hello" checked with gpg.
        assert_eq!(crc24(b""), 0xB704CE);
        assert_eq!(crc24(b"hello\n"), {
            // Bitwise reference implementation from RFC 9580 §6.1.
            let mut crc: u32 = 0xB704CE;
            for &b in b"hello\n" {
                crc ^= u32::from(b) << 16;
                for _ in 0..8 {
                    crc <<= 1;
                    if crc & 0x1000000 != 0 {
                        crc ^= 0x1864CFB;
                    }
                }
            }
            crc & 0xFFFFFF
        });
    }

    fn b64_encode(data: &[u8]) -> String {
        let t = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for c in data.chunks(3) {
            let n = c
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
            for i in 0..4 {
                if i <= c.len() {
                    out.push(t[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    #[test]
    fn openpgp_armor_rules() {
        let crc = crc24(b"hello").to_be_bytes();
        let good = format!(
            "-----BEGIN PGP SIGNATURE-----\n\naGVsbG8=\n={}\n-----END PGP SIGNATURE-----\n",
            b64_encode(&crc[1..])
        );
        assert_eq!(dearmor_openpgp(good.as_bytes()).unwrap(), b"hello");
        let no_crc = good.replace(&format!("\n={}", b64_encode(&crc[1..])), "");
        assert_eq!(dearmor_openpgp(no_crc.as_bytes()).unwrap(), b"hello");
        assert_eq!(
            dearmor_openpgp(good.trim_end().as_bytes()).unwrap(),
            b"hello"
        );
        let with_headers = good.replace("-----\n\n", "-----\nVersion: GnuPG v1\nComment: x: y\n\n");
        assert_eq!(dearmor_openpgp(with_headers.as_bytes()).unwrap(), b"hello");
        let msg = good.replace("PGP SIGNATURE", "PGP MESSAGE");
        assert_eq!(dearmor_openpgp(msg.as_bytes()).unwrap(), b"hello");
        // Lines are joined before decoding, whatever their width.
        let split = good.replace("aGVsbG8=", "aGVs\nbG8=");
        assert_eq!(dearmor_openpgp(split.as_bytes()).unwrap(), b"hello");

        for (bad, needle) in [
            (good.replace(&b64_encode(&crc[1..]), "AAAA"), "CRC-24"),
            (good.replacen("-----\n\n", "-----\n", 1), "no blank line"),
            (
                good.replacen("SIGNATURE-----\n", "SIGNATURE-----xyz\n", 1),
                "extra bytes",
            ),
            (
                good.replacen("SIGNATURE-----\n", "SIGNATURE----- \n", 1),
                "extra bytes",
            ),
            (
                good.replace("-----END PGP SIGNATURE-----", "-----END PGP MESSAGE-----"),
                "END",
            ),
            (
                good.replace("END PGP SIGNATURE-----", "END PGP SIGNATURE-----x"),
                "END",
            ),
            (good.clone() + "\n", "after its END"),
            (good.clone() + "junk\n", "after its END"),
            (good.replace('\n', "\r\n"), "carriage return"),
            (good.replace("aGVsbG8=", "aG=\nVsbG8="), "base64"),
            (good.replace("aGVsbG8=", "aGVs bG8="), "base64"),
            (good.replace("aGVsbG8=", "aGVsbG8=\n"), "empty line"),
            (
                good.replace("-----\n\n", "-----\nFoo: bar\n\n"),
                "unknown header",
            ),
            (
                good.replace("-----\n\n", "-----\nVersion: 1\nnonsense\n\n"),
                "line 3",
            ),
            (good.replace("bG8=", "bG8=="), "base64"),
            ("-----BEGIN PGP SIGNATURE-----\n\n".to_string(), "END"),
        ] {
            let err = dearmor_openpgp(bad.as_bytes()).unwrap_err();
            assert!(err.contains(needle), "{bad:?}: {err}");
        }
    }

    #[test]
    fn ssh_armor_rules() {
        let good = "-----BEGIN SSH SIGNATURE-----\naGVs\nbG8=\n-----END SSH SIGNATURE-----\n";
        assert_eq!(dearmor_ssh(good.as_bytes()).unwrap(), b"hello");
        assert_eq!(dearmor_ssh(good.trim_end().as_bytes()).unwrap(), b"hello");
        for (bad, needle) in [
            (
                good.replace("SIGNATURE-----\na", "SIGNATURE-----x\na"),
                "extra bytes",
            ),
            (
                good.replace("END SSH SIGNATURE-----", "END SSH SIGNATURE----- "),
                "END",
            ),
            (good.to_string() + "trailing\n", "after its END"),
            (good.to_string() + "\n", "after its END"),
            (good.replace('\n', "\r\n"), "carriage return"),
            (good.replace("aGVs\n", "aGVs\n\n"), "empty line"),
            (good.replace("aGVs", "aG Vs"), "base64"),
            (good.replace("bG8=", "bG9="), "padding"),
            ("-----BEGIN SSH SIGNATURE-----\n".to_string(), "END"),
        ] {
            let err = dearmor_ssh(bad.as_bytes()).unwrap_err();
            assert!(err.contains(needle), "{bad:?}: {err}");
        }
    }
}
