//! Short import names across the wasm/JS boundary (build tooling).
//!
//! wasm-bindgen names every import `__wbg_<name>_<16 hex digits>` in the module `./<crate>_bg.js`, and each
//! name stands twice in what a client downloads: in the wasm's import section and as a key of the glue's
//! import object. terser cannot shorten object keys that the wasm looks up by name, so for the hidden app's
//! 65 imports those names were some 6 KB of its 150 KB budget. [`shorten`] renames the module to `a` and the
//! imports to `a`, `b`, … `Z`, `aa`, … consistently in both files, after wasm-opt and terser have run. It
//! refuses (and changes nothing) when the glue does not hold each name exactly once as an object key, so a
//! wasm-bindgen update that changes the glue's shape fails the build instead of breaking the app.

/// The renamed wasm and glue, or why not.
pub fn shorten(wasm: &[u8], js: &str) -> Result<(Vec<u8>, String), String> {
    let (out, module, names) = rename_imports(wasm)?;
    let mut js = js.to_string();
    let key = format!("\"{module}\":");
    if js.matches(&key).count() != 1 {
        return Err(format!(
            "the glue does not name the import module {module} exactly once"
        ));
    }
    js = js.replacen(&key, "a:", 1);
    for (i, old) in names.iter().enumerate() {
        let new = short_name(i);
        let mut hits = 0;
        let mut next = String::with_capacity(js.len());
        let mut rest = js.as_str();
        while let Some(at) = rest.find(old.as_str()) {
            let before = rest[..at].chars().next_back();
            let after = &rest[at + old.len()..];
            let is_key = matches!(before, Some('{') | Some(',')) && after.starts_with(':');
            next.push_str(&rest[..at]);
            if is_key {
                hits += 1;
                next.push_str(&new);
            } else {
                next.push_str(old);
            }
            rest = after;
        }
        next.push_str(rest);
        if hits != 1 {
            return Err(format!("the glue has {hits} import keys {old}, expected 1"));
        }
        js = next;
    }
    Ok((out, js))
}

/// `a` … `z`, `A` … `Z`, then two letters: short, valid JavaScript property names, never `__proto__`.
pub fn short_name(i: usize) -> String {
    const L: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let n = L.len();
    if i < n {
        (L[i] as char).to_string()
    } else {
        let j = i - n;
        format!("{}{}", L[(j / n) % n] as char, L[j % n] as char)
    }
}

fn leb(bytes: &[u8], pos: &mut usize) -> Result<u64, String> {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let b = *bytes.get(*pos).ok_or("wasm: truncated number")?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
        shift += 7;
        if shift > 63 {
            return Err("wasm: number too long".into());
        }
    }
}

fn put_leb(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn name<'a>(bytes: &'a [u8], pos: &mut usize) -> Result<&'a str, String> {
    let len = leb(bytes, pos)? as usize;
    let end = pos.checked_add(len).ok_or("wasm: bad name")?;
    let s = bytes.get(*pos..end).ok_or("wasm: truncated name")?;
    *pos = end;
    std::str::from_utf8(s).map_err(|_| "wasm: name is not UTF-8".to_string())
}

fn limits(bytes: &[u8], pos: &mut usize) -> Result<(), String> {
    let flags = *bytes.get(*pos).ok_or("wasm: truncated limits")?;
    *pos += 1;
    leb(bytes, pos)?;
    if flags & 1 != 0 {
        leb(bytes, pos)?;
    }
    Ok(())
}

/// The wasm with its import section rewritten (module `a`, names from [`short_name`] in order), the one
/// module all imports came from, and their old names in order.
fn rename_imports(wasm: &[u8]) -> Result<(Vec<u8>, String, Vec<String>), String> {
    if wasm.len() < 8 || &wasm[..4] != b"\0asm" {
        return Err("not a wasm module".into());
    }
    let mut out = wasm[..8].to_vec();
    let mut pos = 8;
    let mut module: Option<String> = None;
    let mut names = Vec::new();
    while pos < wasm.len() {
        let id = wasm[pos];
        pos += 1;
        let size = leb(wasm, &mut pos)? as usize;
        let end = pos.checked_add(size).ok_or("wasm: bad section")?;
        let body = wasm.get(pos..end).ok_or("wasm: truncated section")?;
        if id != 2 {
            out.push(id);
            put_leb(&mut out, size as u64);
            out.extend_from_slice(body);
            pos = end;
            continue;
        }
        let mut p = 0;
        let count = leb(body, &mut p)?;
        let mut section = Vec::new();
        put_leb(&mut section, count);
        for i in 0..count as usize {
            let m = name(body, &mut p)?;
            match &module {
                None => module = Some(m.to_string()),
                Some(prev) if prev != m => {
                    return Err(format!(
                        "imports from two modules ({prev}, {m}): not renamed"
                    ))
                }
                Some(_) => {}
            }
            names.push(name(body, &mut p)?.to_string());
            let desc_start = p;
            let kind = *body.get(p).ok_or("wasm: truncated import")?;
            p += 1;
            match kind {
                0 => {
                    leb(body, &mut p)?;
                }
                1 => {
                    p += 1;
                    limits(body, &mut p)?;
                }
                2 => limits(body, &mut p)?,
                3 => p += 2,
                4 => {
                    p += 1;
                    leb(body, &mut p)?;
                }
                k => return Err(format!("wasm: unknown import kind {k}")),
            }
            let desc = body.get(desc_start..p).ok_or("wasm: truncated import")?;
            put_leb(&mut section, 1);
            section.push(b'a');
            let new = short_name(i);
            put_leb(&mut section, new.len() as u64);
            section.extend_from_slice(new.as_bytes());
            section.extend_from_slice(desc);
        }
        if p != body.len() {
            return Err("wasm: import section has trailing bytes".into());
        }
        out.push(2);
        put_leb(&mut out, section.len() as u64);
        out.extend_from_slice(&section);
        pos = end;
    }
    let module = module.ok_or("the wasm has no imports")?;
    Ok((out, module, names))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module importing two functions from `./x_bg.js` (type section, import section, nothing else).
    fn module() -> Vec<u8> {
        let mut imports = vec![2];
        for n in ["__wbg_log_0123456789abcdef", "__wbg_now_fedcba9876543210"] {
            imports.push(9);
            imports.extend_from_slice(b"./x_bg.js");
            imports.push(n.len() as u8);
            imports.extend_from_slice(n.as_bytes());
            imports.extend_from_slice(&[0, 0]);
        }
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        m.extend_from_slice(&[1, 4, 1, 0x60, 0, 0]);
        m.push(2);
        m.push(imports.len() as u8);
        m.extend_from_slice(&imports);
        m
    }

    const GLUE: &str =
        "const n={__proto__:null,__wbg_log_0123456789abcdef:function(n){console.log(n)},\
                        __wbg_now_fedcba9876543210:function(){return Date.now()}};\
                        return{__proto__:null,\"./x_bg.js\":n}";

    #[test]
    fn both_sides_get_the_same_short_names() {
        let (wasm, js) = shorten(&module(), GLUE).unwrap();
        assert_eq!(
            js,
            "const n={__proto__:null,a:function(n){console.log(n)},b:function(){return Date.now()}};\
             return{__proto__:null,a:n}"
        );
        let (_, module, names) = rename_imports(&wasm).unwrap();
        assert_eq!(module, "a");
        assert_eq!(names, ["a", "b"]);
        // The type section is untouched.
        assert_eq!(&wasm[8..14], &[1, 4, 1, 0x60, 0, 0]);
    }

    #[test]
    fn glue_of_another_shape_is_refused() {
        let other = GLUE.replace(
            "__wbg_now_fedcba9876543210:function",
            "[\"__wbg_now_fedcba9876543210\"]:function",
        );
        assert!(shorten(&module(), &other)
            .unwrap_err()
            .contains("__wbg_now"));
        assert!(shorten(&module(), "no module key").is_err());
        assert!(shorten(b"not wasm", GLUE).is_err());
        // Truncated wasm: an error, not a panic.
        let m = module();
        for n in 8..m.len() {
            assert!(shorten(&m[..n], GLUE).is_err());
        }
    }

    #[test]
    fn names_are_short_unique_and_never_proto() {
        let all: Vec<String> = (0..600).map(short_name).collect();
        let mut sorted = all.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), all.len());
        assert!(all.iter().all(|n| n.len() <= 2 && n != "__proto__"));
    }
}
