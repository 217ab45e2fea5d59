//! Cloudflare's 1xxx errors and the HTTP status each is sent with: a fact the fault rules'
//! checks (`status = 403` goes with `code = 1020`) and the pages (a 1xxx page's status) share.

/// The status a 1xxx error is sent with, for the codes edgecase knows (those the pages give a
/// title); `None` for the rest.
pub fn numbered_status(code: u16) -> Option<u16> {
    let status = match code {
        // Cloudflare's docs: the origin-side 1xxx errors come with a 530 (1016, 1033; 1001,
        // 1018, 1023 are DNS/host lookups of the same kind). 1038, 1200, 1205: unconfirmed,
        // chosen as origin-side (the owner's origin or configuration; all three retryable).
        1001 | 1016 | 1018 | 1023 | 1033 | 1038 | 1200 | 1205 => 530,
        // Blocks: 1000 is 403 (REFERENCE.md §1); the access-denied family (1005-1012, 1020,
        // 1106) is 403 on real pages; 1002-1004, 1013, 1014, 1034 refuse the request the same
        // way (unconfirmed).
        1000 | 1002..=1014 | 1020 | 1034 | 1106 => 403,
        // "You are being rate limited": 429 Too Many Requests.
        1015 => 429,
        // Workers and rewrite rules failing inside Cloudflare on the site's behalf: 500
        // (1101 and 1102 are 500 on real pages; 1019, 1035-1037, 1040, 1041 unconfirmed).
        1019 | 1035..=1037 | 1040 | 1041 | 1101 | 1102 => 500,
        // "Please check back later" (a Workers plan limit): 503 (unconfirmed).
        1025 => 503,
        // "Script not found": 404 (unconfirmed).
        1104 => 404,
        _ => return None,
    };
    Some(status)
}
