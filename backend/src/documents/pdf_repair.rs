//! Opening PDFs whose cross-reference data is damaged but whose objects are intact, as viewers
//! and printers do: a wrong `startxref`, a missing or garbled cross-reference table or stream,
//! a truncated trailer, an incremental update whose cross-reference section is broken.
//!
//! A PDF that lopdf reads whole is used as it is. Otherwise the file is scanned for its objects
//! (`N G obj … endobj`, stepping over stream data so bytes inside a stream are never taken for
//! objects); where a number is defined more than once the later definition wins, as in an
//! incremental update, and objects packed in object streams take part by their stream's
//! position. The catalog is the latest that leads to pages of those named by a trailer's (or a
//! cross-reference stream's) `/Root` and of the `/Type /Catalog` objects, by where they stand in
//! the file. The rebuilt document is written out as a fresh file with a new cross-reference
//! table and read back; that file is what gets printed. What cannot be rebuilt (no objects, no
//! catalog, no pages) stays corrupt.

use std::{
    collections::{BTreeMap, HashSet},
    ops::Range,
};

use lopdf::{
    xref::{Xref, XrefEntry, XrefType},
    Document, Object, ObjectId, ObjectStream, Reader, Stream,
};

use super::DocumentError;

/// A PDF ready to read.
pub struct Opened {
    pub doc: Document,
    /// The rebuilt file, when the upload could only be read by repairing it: print this one.
    pub repaired: Option<Vec<u8>>,
}

/// Reads a PDF, repairing its cross-reference data when lopdf alone cannot read it whole.
/// An encrypted document is returned unrepaired (the caller refuses it).
pub fn open(bytes: &[u8]) -> Result<Opened, DocumentError> {
    let loaded = Document::load_mem(bytes);
    let problem = match &loaded {
        Ok(doc) if doc.is_encrypted() => None,
        Ok(doc) => flaw(doc),
        Err(e) => Some(e.to_string()),
    };
    let Some(problem) = problem else {
        // `problem` is None only when `loaded` is Ok (the match above).
        return loaded.map(|doc| Opened { doc, repaired: None }).map_err(|e| DocumentError::Corrupt(e.to_string()));
    };
    // lopdf is given byte offsets it has never been given before; a panic in it on hostile
    // input must refuse the file, not take the request down.
    let rebuilt = std::panic::catch_unwind(|| rebuild(bytes))
        .unwrap_or_else(|_| Err("the PDF parser failed on this file".into()));
    match (rebuilt, loaded) {
        (Ok((doc, file)), _) => {
            tracing::info!(%problem, objects = doc.objects.len(), "PDF repaired: cross-reference rebuilt from its objects");
            Ok(Opened { doc, repaired: Some(file) })
        }
        // Not repairable, but readable as it was (as before repair existed): keep it.
        (Err(_), Ok(doc)) if !doc.get_pages().is_empty() => Ok(Opened { doc, repaired: None }),
        (Err(why), _) => Err(DocumentError::Corrupt(format!("{problem}; cannot repair: {why}"))),
    }
}

/// Why a document lopdf loaded is not whole: objects its cross-reference data lists that could
/// not be read (wrong offsets), no pages, or fewer pages than the page tree declares.
fn flaw(doc: &Document) -> Option<String> {
    let missing = unreadable(doc);
    if missing > 0 {
        return Some(format!("{missing} objects listed in the cross-reference data cannot be read"));
    }
    let pages = doc.get_pages().len();
    if pages == 0 {
        return Some("no pages".into());
    }
    match declared_pages(doc) {
        Some(declared) if declared != pages => Some(format!("the page tree declares {declared} pages; {pages} found")),
        _ => None,
    }
}

/// How many objects the cross-reference data lists that are not in the document.
fn unreadable(doc: &Document) -> usize {
    doc.reference_table
        .entries
        .iter()
        .filter(|(num, entry)| match entry {
            XrefEntry::Normal { generation, .. } => !doc.objects.contains_key(&(**num, *generation)),
            XrefEntry::Compressed { .. } => !doc.objects.contains_key(&(**num, 0)),
            XrefEntry::Free | XrefEntry::UnusableFree => false,
        })
        .count()
}

/// The root page tree node's /Count.
fn declared_pages(doc: &Document) -> Option<usize> {
    let root = doc.catalog().ok()?.get(b"Pages").ok()?.as_reference().ok()?;
    let count = doc.get_dictionary(root).ok()?.get(b"Count").ok()?;
    let count = match count {
        Object::Reference(id) => doc.get_object(*id).ok()?,
        direct => direct,
    };
    usize::try_from(count.as_i64().ok()?).ok()
}

/// One `N G obj` found by the scan.
#[derive(Debug, Clone)]
struct Found {
    num: u32,
    gen: u16,
    /// Where `N G obj` starts.
    offset: usize,
    /// The object's dictionary, when it is one.
    dict: Option<Range<usize>>,
    /// The data of its stream, when it has one (from `stream` to `endstream`, EOLs excluded).
    data: Option<Range<usize>>,
}

/// A `/Root` (with its `/Info`) named by a trailer or a cross-reference stream.
#[derive(Debug, Clone, Copy)]
struct Named {
    at: usize,
    root: ObjectId,
    info: Option<ObjectId>,
}

#[derive(Debug, Default)]
struct Scan {
    /// In file order.
    objects: Vec<Found>,
    /// `trailer` dictionaries outside objects, in file order.
    trailers: Vec<Named>,
}

/// Rebuilds the document from its objects; returns it as read back from the fresh file it was
/// written to, and that file.
fn rebuild(bytes: &[u8]) -> Result<(Document, Vec<u8>), String> {
    // Offsets count from the header, as lopdf counts them (anything before it is junk).
    let start = memchr::memmem::find(bytes, b"%PDF-").ok_or("no PDF header")?;
    let buf = &bytes[start..];
    let scan = scan(buf);
    if scan.objects.is_empty() {
        return Err("no objects".into());
    }
    let mut objects = read_objects(buf, &scan);
    unpack_object_streams(&mut objects);
    if objects.is_empty() {
        return Err("no readable objects".into());
    }

    let (named, catalogs) = roots(&scan, &objects);

    let mut doc = Document::new();
    doc.version = header_version(buf);
    // A classic table: every reader takes it, whatever version the header claims.
    doc.reference_table = Xref::new(0, XrefType::CrossReferenceTable);
    doc.objects = objects
        .into_iter()
        .filter(|(_, (obj, _))| !matches!(obj.type_name(), Ok(b"XRef" | b"ObjStm")))
        .map(|(id, (mut obj, _))| {
            // The length is what the data is, whatever the file said.
            if let Object::Stream(s) = &mut obj {
                let len = i64::try_from(s.content.len()).unwrap_or(i64::MAX);
                s.dict.set("Length", len);
            }
            (id, obj)
        })
        .collect();
    doc.max_id = doc.objects.keys().map(|(num, _)| *num).max().unwrap_or(0);

    let pages = choose_root(&mut doc, named, catalogs);
    if pages == 0 {
        return Err("no catalog leads to pages".into());
    }

    let mut file = Vec::new();
    doc.save_to(&mut file).map_err(|e| format!("cannot write the rebuilt file: {e}"))?;
    let reread = Document::load_mem(&file).map_err(|e| format!("the rebuilt file does not read back: {e}"))?;
    let reread_pages = reread.get_pages().len();
    if reread_pages != pages || unreadable(&reread) > 0 {
        return Err("the rebuilt file does not read back whole".into());
    }
    Ok((reread, file))
}

/// What names a catalog: the trailers and cross-reference streams (with the document's
/// /Info), and the catalog objects themselves, for when no trailer survives (or a later
/// update's trailer is lost).
fn roots(scan: &Scan, objects: &BTreeMap<ObjectId, (Object, usize)>) -> (Vec<Named>, Vec<(usize, ObjectId)>) {
    let mut named: Vec<Named> = scan.trailers.clone();
    // Cross-reference streams carry the trailer's entries in their dictionary.
    for (obj, at) in objects.values() {
        if let Object::Stream(s) = obj {
            if s.dict.has_type(b"XRef") {
                if let Ok(root) = s.dict.get(b"Root").and_then(Object::as_reference) {
                    let info = s.dict.get(b"Info").and_then(Object::as_reference).ok();
                    named.push(Named { at: *at, root, info });
                }
            }
        }
    }
    let catalogs = objects
        .iter()
        .filter(|(_, (obj, _))| obj.as_dict().is_ok_and(|d| d.has_type(b"Catalog")))
        .map(|(id, (_, at))| (*at, *id))
        .collect();
    (named, catalogs)
}

/// Sets the trailer's /Root to the latest catalog that leads to pages; how many pages (0:
/// none does).
fn choose_root(doc: &mut Document, mut named: Vec<Named>, catalogs: Vec<(usize, ObjectId)>) -> usize {
    // The latest word on the catalog first: a trailer names it (with the document's /Info), a
    // catalog object stands for itself (with the latest /Info any trailer names).
    let is_dict = |doc: &Document, id: ObjectId| doc.get_dictionary(id).is_ok();
    named.sort_by_key(|n| std::cmp::Reverse(n.at));
    let latest_info = named.iter().filter_map(|n| n.info).find(|id| is_dict(doc, *id));
    let mut candidates: Vec<Named> = named;
    candidates.extend(catalogs.into_iter().map(|(at, root)| Named { at, root, info: latest_info }));
    candidates.sort_by_key(|n| std::cmp::Reverse(n.at));
    let mut pages = 0;
    for Named { root, info, .. } in candidates {
        doc.trailer = lopdf::Dictionary::new();
        doc.trailer.set("Root", root);
        pages = doc.get_pages().len();
        if pages > 0 {
            if let Some(info) = info.filter(|id| is_dict(doc, *id)) {
                doc.trailer.set("Info", info);
            }
            break;
        }
    }
    pages
}

/// `1.7` from `%PDF-1.7`; a header we would not write back becomes 1.7.
fn header_version(buf: &[u8]) -> String {
    let line = &buf[5.min(buf.len())..buf.len().min(13)];
    let end = line.iter().position(|c| !(c.is_ascii_digit() || *c == b'.')).unwrap_or(line.len());
    match &line[..end] {
        [major, b'.', minor] if major.is_ascii_digit() && minor.is_ascii_digit() => {
            String::from_utf8_lossy(&line[..3]).into_owned()
        }
        _ => "1.7".into(),
    }
}

/// Parses every object number's latest definition that parses (falling back to earlier ones),
/// with where it was defined.
fn read_objects(buf: &[u8], scan: &Scan) -> BTreeMap<ObjectId, (Object, usize)> {
    let mut defs: BTreeMap<u32, Vec<&Found>> = BTreeMap::new();
    for found in &scan.objects {
        if u32::try_from(found.offset).is_ok() {
            defs.entry(found.num).or_default().push(found);
        }
    }
    // The reader resolves indirect stream lengths through this table: latest definitions.
    let mut table = Xref::new(0, XrefType::CrossReferenceTable);
    for (num, list) in &defs {
        if let Some(last) = list.last() {
            table.insert(*num, entry(last));
        }
    }
    table.size = table.max_id().saturating_add(1);
    let mut document = Document::new();
    document.reference_table = table;
    let mut reader = Reader { buffer: buf, document, encryption_state: None, raw_objects: BTreeMap::new() };

    let mut out = BTreeMap::new();
    for (num, list) in &defs {
        for found in list.iter().rev() {
            reader.document.reference_table.insert(*num, entry(found));
            if let Some(obj) = read_one(&reader, buf, found) {
                out.insert((*num, found.gen), (obj, found.offset));
                break;
            }
        }
    }
    out
}

fn entry(found: &Found) -> XrefEntry {
    // read_objects keeps only offsets that fit.
    XrefEntry::Normal { offset: u32::try_from(found.offset).unwrap_or(u32::MAX), generation: found.gen }
}

fn read_one(reader: &Reader, buf: &[u8], found: &Found) -> Option<Object> {
    let id = (found.num, found.gen);
    let data = found.data.clone();
    match (reader.get_object(id, &mut HashSet::new()), data) {
        // The length could not be resolved: the data runs to `endstream`, as the scan found.
        (Ok(Object::Stream(s)), Some(data)) if s.content.is_empty() && s.start_position.is_some() => {
            Some(Object::Stream(Stream::new(s.dict, buf[data].to_vec())))
        }
        // A stream whose stated length is wrong comes back as its bare dictionary: add the data.
        (Ok(Object::Dictionary(dict)), Some(data)) => Some(Object::Stream(Stream::new(dict, buf[data].to_vec()))),
        (Ok(obj), _) => Some(obj),
        // A stream lopdf refuses outright (a negative length): its dictionary alone, with the
        // data the scan found.
        (Err(_), Some(data)) => {
            let dict = found.dict.clone()?;
            let mut mini = format!("{} {} obj\n", id.0, id.1).into_bytes();
            mini.extend_from_slice(&buf[dict]);
            mini.extend_from_slice(b"\nendobj\n");
            let mut document = Document::new();
            document.reference_table.insert(id.0, XrefEntry::Normal { offset: 0, generation: id.1 });
            let mini_reader = Reader { buffer: &mini, document, encryption_state: None, raw_objects: BTreeMap::new() };
            let dict = mini_reader.get_object(id, &mut HashSet::new()).ok()?.as_dict().ok()?.clone();
            Some(Object::Stream(Stream::new(dict, buf[data].to_vec())))
        }
        (Err(_), None) => None,
    }
}

/// Adds the objects packed in object streams. A packed definition wins over a direct one that
/// comes before its stream in the file, and a later stream over an earlier one.
fn unpack_object_streams(objects: &mut BTreeMap<ObjectId, (Object, usize)>) {
    let mut containers: Vec<(usize, ObjectId)> = objects
        .iter()
        .filter(|(_, (obj, _))| obj.as_stream().is_ok_and(|s| s.dict.has_type(b"ObjStm")))
        .map(|(id, (_, at))| (*at, *id))
        .collect();
    containers.sort();
    for (at, container) in containers {
        let Some(Ok(mut stream)) = objects.get(&container).map(|(obj, _)| obj.as_stream().cloned()) else {
            continue;
        };
        let Ok(packed) = ObjectStream::new(&mut stream) else {
            continue;
        };
        for ((num, gen), obj) in packed.objects {
            if num == container.0 || matches!(obj, Object::Stream(_)) {
                continue;
            }
            let defined: Vec<ObjectId> = objects.range((num, 0)..=(num, u16::MAX)).map(|(id, _)| *id).collect();
            if defined.iter().any(|id| objects.get(id).is_some_and(|(_, def_at)| *def_at > at)) {
                continue;
            }
            for id in defined {
                objects.remove(&id);
            }
            objects.insert((num, gen), (obj, at));
        }
    }
}

fn is_white(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b'\x0c' | b'\0')
}

fn is_delimiter(c: u8) -> bool {
    matches!(c, b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%')
}

fn is_regular(c: u8) -> bool {
    !is_white(c) && !is_delimiter(c)
}

/// Finds the objects and trailers of a file, stepping over dictionaries and stream data.
fn scan(buf: &[u8]) -> Scan {
    let mut out = Scan::default();
    let finder = memchr::memmem::Finder::new(b"obj");
    let (mut pos, mut gap_start) = (0, 0);
    while let Some(rel) = finder.find(&buf[pos..]) {
        let at = pos + rel;
        pos = at + 3;
        let Some((start, num, gen)) = header_before(buf, at).filter(|(start, ..)| *start >= gap_start) else {
            continue;
        };
        trailers_in(buf, gap_start..start, &mut out.trailers);
        let (dict, data, end) = extent(buf, at + 3);
        out.objects.push(Found { num, gen, offset: start, dict, data });
        pos = end.max(at + 3);
        gap_start = pos;
    }
    trailers_in(buf, gap_start..buf.len(), &mut out.trailers);
    out
}

/// `N G` before the `obj` at `at`, if that is an object header: where it starts, N and G.
fn header_before(buf: &[u8], at: usize) -> Option<(usize, u32, u16)> {
    if buf.get(at + 3).is_some_and(|c| is_regular(*c)) {
        return None;
    }
    let digits_back = |mut j: usize| {
        let end = j;
        while j > 0 && buf[j - 1].is_ascii_digit() {
            j -= 1;
        }
        (j, end)
    };
    let white_back = |mut j: usize| {
        while j > 0 && is_white(buf[j - 1]) {
            j -= 1;
        }
        j
    };
    let gen_end = white_back(at);
    if gen_end == at {
        return None;
    }
    let (gen_start, _) = digits_back(gen_end);
    let num_end = white_back(gen_start);
    if num_end == gen_start {
        return None;
    }
    let (num_start, _) = digits_back(num_end);
    if !(1..=5).contains(&(gen_end - gen_start)) || !(1..=10).contains(&(num_end - num_start)) {
        return None;
    }
    if num_start > 0 && is_regular(buf[num_start - 1]) {
        return None;
    }
    let num: u32 = std::str::from_utf8(&buf[num_start..num_end]).ok()?.parse().ok()?;
    let gen: u16 = std::str::from_utf8(&buf[gen_start..gen_end]).ok()?.parse().ok()?;
    (num > 0).then_some((num_start, num, gen))
}

/// The object body starting at `body`: its dictionary, its stream data, and where scanning
/// goes on (after the dictionary or `endstream`; right after the header for other objects).
fn extent(buf: &[u8], body: usize) -> (Option<Range<usize>>, Option<Range<usize>>, usize) {
    let i = skip_white(buf, body);
    if !buf[i..].starts_with(b"<<") {
        return (None, None, body);
    }
    let Some(dict_end) = dict_end(buf, i) else {
        return (None, None, body);
    };
    let dict = i..dict_end;
    let mut j = skip_white(buf, dict_end);
    if !buf[j..].starts_with(b"stream") {
        return (Some(dict), None, dict_end);
    }
    j += 6;
    if buf[j..].starts_with(b"\r\n") {
        j += 2;
    } else if buf[j..].starts_with(b"\n") || buf[j..].starts_with(b"\r") {
        j += 1;
    }
    let data_start = j;
    // The stated length, when it is direct and right, settles where the data ends.
    if let Some(len) = direct_int(&buf[dict.clone()], b"/Length") {
        if let Some(end) = data_start.checked_add(len).filter(|e| *e <= buf.len()) {
            let k = skip_white(buf, end);
            if buf[k..].starts_with(b"endstream") {
                return (Some(dict), Some(data_start..end), k + 9);
            }
        }
    }
    match memchr::memmem::find(&buf[data_start..], b"endstream") {
        Some(rel) => {
            let kw = data_start + rel;
            let mut end = kw;
            if end > data_start && buf[end - 1] == b'\n' {
                end -= 1;
            }
            if end > data_start && buf[end - 1] == b'\r' {
                end -= 1;
            }
            (Some(dict), Some(data_start..end), kw + 9)
        }
        // Cut off inside the stream: nothing after it is an object.
        None => (Some(dict), None, buf.len()),
    }
}

fn skip_white(buf: &[u8], mut i: usize) -> usize {
    while i < buf.len() {
        if is_white(buf[i]) {
            i += 1;
        } else if buf[i] == b'%' {
            while i < buf.len() && buf[i] != b'\n' && buf[i] != b'\r' {
                i += 1;
            }
        } else {
            break;
        }
    }
    i
}

/// The end (after `>>`) of the dictionary opening at `start`, skipping strings and comments.
fn dict_end(buf: &[u8], start: usize) -> Option<usize> {
    let (mut i, mut depth) = (start, 0usize);
    while i < buf.len() {
        match buf[i] {
            b'<' if buf.get(i + 1) == Some(&b'<') => {
                depth += 1;
                i += 2;
            }
            b'>' if buf.get(i + 1) == Some(&b'>') => {
                depth = depth.checked_sub(1)?;
                i += 2;
                if depth == 0 {
                    return Some(i);
                }
            }
            b'<' => i += memchr::memchr(b'>', &buf[i..])? + 1,
            b'(' => {
                let mut nest = 0usize;
                loop {
                    match *buf.get(i)? {
                        b'\\' => i += 1,
                        b'(' => nest += 1,
                        b')' => {
                            nest -= 1;
                            if nest == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
                i += 1;
            }
            b'%' => {
                while i < buf.len() && buf[i] != b'\n' && buf[i] != b'\r' {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Positions just after each `key` (a name) in `bytes`.
fn key_positions<'a>(bytes: &'a [u8], key: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    memchr::memmem::find_iter(bytes, key)
        .map(move |at| at + key.len())
        .filter(|after| !bytes.get(*after).is_some_and(|c| is_regular(*c)))
}

/// Reads an unsigned integer at `i` (after white space): its value and where it ends.
fn uint_at(bytes: &[u8], i: usize) -> Option<(u64, usize)> {
    let i = skip_white(bytes, i);
    let len = bytes[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    if len == 0 || len > 19 || bytes.get(i + len).is_some_and(|c| is_regular(*c)) {
        return None;
    }
    Some((std::str::from_utf8(&bytes[i..i + len]).ok()?.parse().ok()?, i + len))
}

/// `key N G R` in a dictionary's bytes.
fn find_ref(bytes: &[u8], key: &[u8]) -> Option<ObjectId> {
    key_positions(bytes, key).find_map(|after| {
        let (num, i) = uint_at(bytes, after)?;
        let (gen, i) = uint_at(bytes, i)?;
        let r = skip_white(bytes, i);
        if bytes.get(r) != Some(&b'R') || bytes.get(r + 1).is_some_and(|c| is_regular(*c)) {
            return None;
        }
        Some((u32::try_from(num).ok()?, u16::try_from(gen).ok()?))
    })
}

/// `key N` in a dictionary's bytes, N direct (not the start of a reference `N G R`).
fn direct_int(bytes: &[u8], key: &[u8]) -> Option<usize> {
    key_positions(bytes, key).find_map(|after| {
        let (n, i) = uint_at(bytes, after)?;
        let is_ref = uint_at(bytes, i).is_some_and(|(_, j)| {
            let r = skip_white(bytes, j);
            bytes.get(r) == Some(&b'R') && !bytes.get(r + 1).is_some_and(|c| is_regular(*c))
        });
        if is_ref {
            return None;
        }
        usize::try_from(n).ok()
    })
}

/// The `/Root` and `/Info` of each `trailer` dictionary in `range` (which may be cut short).
fn trailers_in(buf: &[u8], range: Range<usize>, out: &mut Vec<Named>) {
    let gap = &buf[range.clone()];
    for at in memchr::memmem::find_iter(gap, b"trailer") {
        let i = skip_white(gap, at + 7);
        if !gap[i..].starts_with(b"<<") {
            continue;
        }
        let dict = &gap[i..dict_end(gap, i).unwrap_or(gap.len())];
        if let Some(root) = find_ref(dict, b"/Root") {
            out.push(Named { at: range.start + at, root, info: find_ref(dict, b"/Info") });
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use lopdf::{dictionary, SaveOptions};

    use super::*;

    /// `n` pages, each with its own content stream saying which page it is.
    fn document(n: usize) -> Document {
        let mut doc = Document::with_version("1.7");
        let pages_id = doc.new_object_id();
        let font = doc.add_object(dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica" });
        let kids: Vec<Object> = (1..=n)
            .map(|i| {
                let content = format!("BT /F1 24 Tf 72 720 Td (Page {i}) Tj ET").into_bytes();
                let content = doc.add_object(Stream::new(dictionary! {}, content));
                doc.add_object(dictionary! {
                    "Type" => "Page", "Parent" => pages_id, "Contents" => content,
                    "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
                    "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
                })
                .into()
            })
            .collect();
        let count = i64::try_from(kids.len()).unwrap();
        doc.objects
            .insert(pages_id, Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }));
        let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        let info = doc.add_object(dictionary! { "Title" => Object::string_literal("repair test") });
        doc.trailer.set("Root", catalog);
        doc.trailer.set("Info", info);
        doc
    }

    /// With a classic cross-reference table.
    fn classic(n: usize) -> Vec<u8> {
        let mut doc = document(n);
        doc.reference_table.cross_reference_type = XrefType::CrossReferenceTable;
        let mut out = Vec::new();
        doc.save_to(&mut out).unwrap();
        out
    }

    /// PDF 1.5 style: objects packed in object streams, a cross-reference stream.
    fn packed(n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let options = SaveOptions::builder().use_object_streams(true).use_xref_streams(true).build();
        document(n).save_with_options(&mut out, options).unwrap();
        out
    }

    fn rfind(hay: &[u8], needle: &[u8]) -> usize {
        memchr::memmem::rfind(hay, needle).unwrap()
    }

    fn with_startxref(bytes: &[u8], value: usize) -> Vec<u8> {
        let at = rfind(bytes, b"startxref");
        let mut out = bytes[..at].to_vec();
        out.extend_from_slice(format!("startxref\n{value}\n%%EOF\n").as_bytes());
        out
    }

    fn page_texts(doc: &Document) -> Vec<String> {
        doc.get_pages()
            .values()
            .map(|id| String::from_utf8_lossy(&doc.get_page_content(*id).unwrap()).into_owned())
            .collect()
    }

    fn expected_texts(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("BT /F1 24 Tf 72 720 Td (Page {i}) Tj ET")).collect()
    }

    /// Repaired, and the rebuilt file reads whole without repair, with the same pages.
    fn assert_repaired(bytes: &[u8], pages: usize) -> Document {
        let opened = open(bytes).unwrap();
        let file = opened.repaired.expect("repaired");
        assert_eq!(page_texts(&opened.doc), expected_texts(pages));
        let clean = Document::load_mem(&file).unwrap();
        assert_eq!(flaw(&clean), None);
        assert_eq!(page_texts(&clean), expected_texts(pages));
        let again = open(&file).unwrap();
        assert!(again.repaired.is_none(), "the rebuilt file needs no repair");
        clean
    }

    #[test]
    fn whole_files_are_not_rewritten() {
        for bytes in [classic(2), packed(2)] {
            let opened = open(&bytes).unwrap();
            assert!(opened.repaired.is_none());
            assert_eq!(page_texts(&opened.doc), expected_texts(2));
        }
    }

    #[test]
    fn wrong_startxref_is_repaired() {
        let good = classic(3);
        let xref = rfind(&good, b"\nxref") + 1;
        let bytes = with_startxref(&good, xref + 17);
        assert!(Document::load_mem(&bytes).is_err(), "lopdf alone refuses it");
        let doc = assert_repaired(&bytes, 3);
        assert_eq!(doc.trailer.get(b"Info").and_then(Object::as_reference).ok(), good_info(&good));
    }

    fn good_info(good: &[u8]) -> Option<ObjectId> {
        Document::load_mem(good).unwrap().trailer.get(b"Info").and_then(Object::as_reference).ok()
    }

    #[test]
    fn missing_xref_table_is_repaired() {
        let good = classic(3);
        let xref = rfind(&good, b"\nxref") + 1;
        let trailer = rfind(&good, b"trailer");
        let bytes = [&good[..xref], &good[trailer..]].concat();
        assert!(Document::load_mem(&bytes).is_err());
        assert_repaired(&bytes, 3);
    }

    #[test]
    fn truncated_trailer_falls_back_to_the_catalog() {
        let good = classic(3);
        let trailer = rfind(&good, b"trailer");
        let bytes = good[..trailer + b"trailer\n<<".len()].to_vec();
        assert!(Document::load_mem(&bytes).is_err());
        assert_repaired(&bytes, 3);
    }

    #[test]
    fn pdf15_with_a_wrong_xref_stream_offset_is_repaired() {
        let good = packed(3);
        assert!(memchr::memmem::find(&good, b"/ObjStm").is_some(), "objects are packed");
        let bytes = with_startxref(&good, 9);
        assert!(Document::load_mem(&bytes).is_err());
        assert_repaired(&bytes, 3);
    }

    /// The base file plus an incremental update adding a third page (a new page tree node under
    /// the same number), whose cross-reference section then has every offset 7 bytes off.
    fn broken_update() -> Vec<u8> {
        let base = classic(2);
        let prev = Document::load_mem(&base).unwrap();
        let pages_id = prev.catalog().unwrap().get(b"Pages").unwrap().as_reference().unwrap();
        let first_page = prev.get_pages()[&1];
        let mut update = lopdf::IncrementalDocument::create_from(base, prev);
        let mut page = update.get_prev_documents().get_dictionary(first_page).unwrap().clone();
        let new = &mut update.new_document;
        let content = b"BT /F1 24 Tf 72 720 Td (Page 3) Tj ET".to_vec();
        page.set("Contents", new.add_object(Stream::new(dictionary! {}, content)));
        let page_id = new.add_object(page);
        update.opt_clone_object_to_new_document(pages_id).unwrap();
        let tree = update.new_document.get_dictionary_mut(pages_id).unwrap();
        tree.get_mut(b"Kids").unwrap().as_array_mut().unwrap().push(page_id.into());
        tree.set("Count", 3);
        let mut out = Vec::new();
        update.save_to(&mut out).unwrap();
        assert_eq!(Document::load_mem(&out).unwrap().get_pages().len(), 3, "the update as written is whole");
        shift_last_xref(&out, 7)
    }

    /// Moves every in-use offset of the last cross-reference table by `delta`.
    fn shift_last_xref(bytes: &[u8], delta: i64) -> Vec<u8> {
        let start = rfind(bytes, b"\nxref") + 1;
        let end = start + memchr::memmem::find(&bytes[start..], b"trailer").unwrap();
        let mut out = bytes.to_vec();
        let mut i = start;
        while i + 18 <= end {
            let line = &bytes[i..i + 18];
            if line[..10].iter().all(u8::is_ascii_digit) && line[10] == b' ' && &line[16..] == b" n" {
                let offset: i64 = std::str::from_utf8(&line[..10]).unwrap().parse().unwrap();
                out[i..i + 10].copy_from_slice(format!("{:010}", offset + delta).as_bytes());
                i += 18;
            } else {
                i += 1;
            }
        }
        assert_ne!(out, bytes);
        out
    }

    #[test]
    fn broken_incremental_update_is_repaired_and_the_update_wins() {
        let bytes = broken_update();
        let before = Document::load_mem(&bytes).map(|d| d.get_pages().len()).unwrap_or(0);
        assert_ne!(before, 3, "lopdf alone does not see the update");
        assert_repaired(&bytes, 3);
    }

    /// An update that replaced the catalog under a new number, cut off before its trailer, to a
    /// file whose `startxref` is wrong: the new catalog (later in the file than the old
    /// trailer) wins over the old trailer's /Root.
    #[test]
    fn a_later_catalog_wins_over_an_older_trailer() {
        let base = classic(2);
        let prev = Document::load_mem(&base).unwrap();
        let old_tree = prev.catalog().unwrap().get(b"Pages").unwrap().as_reference().unwrap();
        let mut kids = prev.get_dictionary(old_tree).unwrap().get(b"Kids").unwrap().as_array().unwrap().clone();
        let mut page = prev.get_dictionary(prev.get_pages()[&1]).unwrap().clone();
        let mut update = lopdf::IncrementalDocument::create_from(with_startxref(&base, 3), prev);
        let new = &mut update.new_document;
        let tree = new.new_object_id();
        let content = b"BT /F1 24 Tf 72 720 Td (Page 3) Tj ET".to_vec();
        page.set("Contents", new.add_object(Stream::new(dictionary! {}, content)));
        page.set("Parent", tree);
        kids.push(new.add_object(page).into());
        new.objects.insert(tree, Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => 3 }));
        let catalog = new.add_object(dictionary! { "Type" => "Catalog", "Pages" => tree });
        new.trailer.set("Root", catalog);
        let mut out = Vec::new();
        update.save_to(&mut out).unwrap();
        out.truncate(rfind(&out, b"\nxref") + 1);
        let opened = open(&out).unwrap();
        assert_eq!(opened.doc.catalog().unwrap().get(b"Pages").unwrap().as_reference().unwrap().0, tree.0);
        // The first two pages keep their old parent; what matters is what prints.
        assert_eq!(page_texts(&opened.doc), expected_texts(3));
        assert_eq!(Document::load_mem(&opened.repaired.unwrap()).unwrap().get_pages().len(), 3);
    }

    /// Damaged lengths, in a file that needs repair anyway: the data is what lies between
    /// `stream` and `endstream`.
    #[test]
    fn wrong_stream_lengths_survive_a_repair() {
        let good = classic(2);
        let replace = |bytes: &[u8], from: &[u8], to: &[u8]| {
            let at = memchr::memmem::find(bytes, from).unwrap();
            [&bytes[..at], to, &bytes[at + from.len()..]].concat()
        };
        let bad_xref = |bytes: &[u8]| with_startxref(bytes, rfind(bytes, b"\nxref") + 4);
        // Too short, and negative.
        let short_and_negative = replace(&replace(&good, b"/Length 37", b"/Length 12"), b"/Length 37", b"/Length -5");
        assert_repaired(&bad_xref(&short_and_negative), 2);
        // Too long, and referring to itself.
        let long_and_cyclic = replace(&replace(&good, b"/Length 37", b"/Length 99"), b"/Length 37", b"/Length 5 0 R");
        assert!(memchr::memmem::find(&long_and_cyclic, b"5 0 obj\n<</Length 5 0 R>>").is_some());
        assert_repaired(&bad_xref(&long_and_cyclic), 2);
    }

    #[test]
    fn objects_inside_stream_data_are_not_taken_for_objects() {
        let mut doc = document(1);
        doc.reference_table.cross_reference_type = XrefType::CrossReferenceTable;
        // A stream whose data looks like a competing catalog and page tree.
        let decoy =
            b"1 0 obj\n<</Type/Pages/Kids[]/Count 0>>\nendobj\n99 0 obj\n<</Type/Catalog/Pages 1 0 R>>\nendobj\n";
        let decoy_id = doc.add_object(Stream::new(dictionary! {}, decoy.to_vec()));
        let page = doc.get_pages()[&1];
        doc.get_dictionary_mut(page).unwrap().set("Thumb", decoy_id);
        let mut good = Vec::new();
        doc.save_to(&mut good).unwrap();
        let bytes = with_startxref(&good, 3);
        let repaired = assert_repaired(&bytes, 1);
        assert!(!repaired.objects.contains_key(&(99, 0)));
    }

    #[test]
    fn unrepairable_files_stay_corrupt() {
        let good = classic(2);
        let catalog_at = memchr::memmem::find(&good, b"/Type/Catalog").unwrap();
        let mut no_catalog = with_startxref(&good, 5);
        no_catalog[catalog_at..catalog_at + 13].copy_from_slice(b"/Type/Catalxx");
        let trailer = rfind(&no_catalog, b"trailer");
        no_catalog.truncate(trailer);
        let no_pages = b"%PDF-1.7\n1 0 obj\n<</Type/Catalog/Pages 2 0 R>>\nendobj\n2 0 obj\n<</Type/Pages/Kids[]/Count 0>>\nendobj\n%%EOF\n";
        let cases: [(&str, &[u8]); 5] = [
            ("garbage", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage"),
            ("no objects", b"%PDF-1.4\nhello world\n%%EOF\n"),
            ("no header", b"1 0 obj\n<</Type/Catalog>>\nendobj\n"),
            ("no catalog", &no_catalog),
            ("no pages", no_pages),
        ];
        for (name, bytes) in cases {
            assert!(matches!(open(bytes), Err(DocumentError::Corrupt(_))), "{name}");
        }
    }

    #[test]
    fn scanner_pieces() {
        assert_eq!(header_before(b"12 0 obj", 5), Some((0, 12, 0)));
        assert_eq!(header_before(b"x12 0 obj", 6), None);
        assert_eq!(header_before(b"12 0 objects", 5), None);
        assert_eq!(header_before(b"endobj", 3), None);
        assert_eq!(header_before(b">>\n7 3 obj<<", 7), Some((3, 7, 3)));
        let nested = b"<</A (a >> b\\) c) /B <</C <ab>>>>> rest";
        assert_eq!(dict_end(nested, 0), Some(nested.len() - 5));
        assert_eq!(dict_end(b"<</A (unterminated", 0), None);
        assert_eq!(find_ref(b"<</Size 9/Root 3 0 R/Info 4 0 R>>", b"/Root"), Some((3, 0)));
        assert_eq!(find_ref(b"<</RootX 3 0 R>>", b"/Root"), None);
        assert_eq!(direct_int(b"<</Length 42/Filter/FlateDecode>>", b"/Length"), Some(42));
        assert_eq!(direct_int(b"<</Length 7 0 R>>", b"/Length"), None);
        assert_eq!(direct_int(b"<</Length1 5/Length 6>>", b"/Length"), Some(6));
        assert_eq!(header_version(b"%PDF-1.5\n"), "1.5");
        assert_eq!(header_version(b"%PDF-x\n"), "1.7");
    }
}
