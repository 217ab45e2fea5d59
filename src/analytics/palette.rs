//! The fixed colour of each status in the "Errors over time" chart and its legend, so that a
//! status keeps its colour from one range and one run to the next. This module owns colours
//! only; the chart is [`super::svg`].
//!
//! Every 5xx edgecase makes has a hue of its own: fourteen hues 25.7° apart on the OKLCH wheel,
//! alternately dark (L 0.56) and light (L 0.75), so that two colours of the same lightness are
//! at least 51° apart. Neighbouring statuses (520 to 526) and those that looked alike before
//! (521 and 530, 523 and 527) are at least 51° apart too. The 4xx, the visitor's errors, are greys of distinct
//! lightness: no hue, so they never look like an origin error. The scenario page also charts
//! successes: 2xx are a muted sage and 1xx/3xx a muted tan, low in chroma like the greys.

/// Each named status and its colour, 5xx first.
pub(super) const PALETTE: [(u16, &str); 23] = [
    (527, "#c8393a"), // red
    (522, "#fc8c44"), // orange
    (530, "#996a16"), // ochre
    (520, "#c1b01f"), // yellow
    (503, "#5c8311"), // olive green
    (525, "#29ce76"), // green
    (502, "#0b8776"), // teal
    (526, "#2cc3d2"), // cyan
    (524, "#0b7fa9"), // blue
    (501, "#76b0ff"), // sky blue
    (523, "#685fd9"), // indigo
    (504, "#ca90fb"), // lavender
    (521, "#af41a0"), // magenta
    (500, "#fd7eab"), // pink
    (499, "#43484e"),
    (400, "#53595f"),
    (403, "#646a70"),
    (404, "#72787e"),
    (405, "#81878d"),
    (413, "#90969c"),
    (414, "#9fa5ac"),
    (429, "#afb5bc"),
    (431, "#bbc2c9"),
];

/// The colour of a 5xx not in [`PALETTE`] (an origin's own 505, 507...): near black.
const OTHER_5XX: &str = "#292e34";
/// The colour of a 4xx not in [`PALETTE`]: a mid grey.
const OTHER_4XX: &str = "#878d93";
/// The colour of a 2xx (the scenario page charts successes too): a muted sage, no 5xx's hue
/// at its chroma and lighter than the 4xx greys' darkest.
const SUCCESS_2XX: &str = "#9bb8a4";
/// The colour of a 1xx or 3xx: a muted tan.
const OTHER_3XX: &str = "#c4b393";

/// The fixed colour of `status`, as `#rrggbb`.
pub(crate) fn colour(status: u16) -> &'static str {
    match PALETTE.iter().find(|(named, _)| *named == status) {
        Some((_, colour)) => colour,
        None if status >= 500 => OTHER_5XX,
        None if status >= 400 => OTHER_4XX,
        None if (200..300).contains(&status) => SUCCESS_2XX,
        None => OTHER_3XX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `#rrggbb` as OKLCH: lightness (0-1), chroma and hue in degrees (Björn Ottosson's
    /// OKLab, from linear sRGB).
    fn oklch(hex: &str) -> (f64, f64, f64) {
        let channel = |at: usize| {
            let c = f64::from(u8::from_str_radix(&hex[at..at + 2], 16).unwrap()) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        let (r, g, b) = (channel(1), channel(3), channel(5));
        let l = (0.412_221_470_8 * r + 0.536_332_536_3 * g + 0.051_445_992_9 * b).cbrt();
        let m = (0.211_903_498_2 * r + 0.680_699_545_1 * g + 0.107_396_956_6 * b).cbrt();
        let s = (0.088_302_461_9 * r + 0.281_718_837_6 * g + 0.629_978_700_5 * b).cbrt();
        let lightness = 0.210_454_255_3 * l + 0.793_617_785 * m - 0.004_072_046_8 * s;
        let a = 1.977_998_495_1 * l - 2.428_592_205 * m + 0.450_593_709_9 * s;
        let b = 0.025_904_037_1 * l + 0.782_771_766_2 * m - 0.808_675_766 * s;
        (
            lightness,
            a.hypot(b),
            b.atan2(a).to_degrees().rem_euclid(360.0),
        )
    }

    fn hue_gap(a: f64, b: f64) -> f64 {
        let gap = (a - b).abs();
        gap.min(360.0 - gap)
    }

    #[test]
    fn every_pair_of_5xx_has_clearly_different_hues() {
        let errors: Vec<(u16, (f64, f64, f64))> = PALETTE
            .iter()
            .filter(|(status, _)| *status >= 500)
            .map(|&(status, hex)| (status, oklch(hex)))
            .collect();
        assert_eq!(errors.len(), 14);
        for (i, &(a, (la, ca, ha))) in errors.iter().enumerate() {
            assert!(ca >= 0.09, "{a} is coloured, not grey: chroma {ca:.3}");
            for &(b, (lb, _, hb)) in &errors[i + 1..] {
                let gap = hue_gap(ha, hb);
                assert!(gap >= 24.0, "{a} and {b}: hues {gap:.0}° apart");
                if (la - lb).abs() < 0.1 {
                    assert!(gap >= 45.0, "{a} and {b}: same lightness, {gap:.0}° apart");
                }
            }
        }
    }

    #[test]
    fn the_pairs_that_looked_alike_are_far_apart() {
        let pairs = [
            (521, 530),
            (523, 527),
            (520, 521),
            (520, 522),
            (521, 522),
            (522, 523),
            (522, 524),
            (523, 524),
            (524, 525),
            (525, 526),
        ];
        for (a, b) in pairs {
            let gap = hue_gap(oklch(colour(a)).2, oklch(colour(b)).2);
            assert!(gap >= 45.0, "{a} and {b}: {gap:.0}°");
        }
    }

    #[test]
    fn the_4xx_are_greys_of_distinct_lightness() {
        let mut lightness: Vec<f64> = PALETTE
            .iter()
            .filter(|(status, _)| *status < 500)
            .map(|(status, hex)| {
                let (l, chroma, _) = oklch(hex);
                assert!(chroma < 0.03, "{status} is grey: chroma {chroma:.3}");
                l
            })
            .collect();
        lightness.sort_by(f64::total_cmp);
        for pair in lightness.windows(2) {
            assert!(pair[1] - pair[0] >= 0.04, "{pair:?}");
        }
    }

    #[test]
    fn every_status_has_one_colour() {
        for (i, (status, _)) in PALETTE.iter().enumerate() {
            assert!(
                PALETTE[i + 1..].iter().all(|(other, _)| other != status),
                "{status} is listed once"
            );
        }
        assert_eq!(colour(522), "#fc8c44");
        assert_eq!(colour(507), OTHER_5XX);
        assert_eq!(colour(418), OTHER_4XX);
        assert_eq!(colour(204), SUCCESS_2XX);
        assert_eq!(colour(301), OTHER_3XX);
    }
}
