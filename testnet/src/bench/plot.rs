//! The bench's picture: submit-to-final latency (p50 and p99, log scale) against the offered
//! rate of every paced phase, with the maximum sustained rate marked. A PNG drawn with
//! plotters; text uses the system's DejaVu Sans (Debian `fonts-dejavu-core`).

use std::path::Path;

use anyhow::{bail, Context as _};
use plotters::prelude::*;

/// Where Debian's `fonts-dejavu-core` puts the font the labels use.
pub const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// One paced phase: offered rate (tx/s) and latency p50 / p99 (ms).
#[derive(Debug, Clone, Copy)]
pub struct Point {
    pub offered_tps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

fn register_font() -> anyhow::Result<()> {
    static REGISTERED: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    let result = REGISTERED.get_or_init(|| {
        let bytes =
            std::fs::read(FONT).map_err(|e| format!("reading {FONT} (install Debian's fonts-dejavu-core): {e}"))?;
        plotters::style::register_font("sans-serif", FontStyle::Normal, Box::leak(bytes.into_boxed_slice()))
            .map_err(|_| format!("{FONT} is not a font plotters can read"))
    });
    result.clone().map_err(anyhow::Error::msg)
}

/// Draws `points` (sorted by rate here) into a PNG at `out`; `max_sustained` is marked.
pub fn latency_against_rate(
    out: &Path,
    title: &str,
    points: &[Point],
    max_sustained: Option<f64>,
) -> anyhow::Result<()> {
    if points.is_empty() {
        bail!("no paced phase to plot");
    }
    register_font()?;
    let mut points = points.to_vec();
    points.sort_by(|a, b| a.offered_tps.total_cmp(&b.offered_tps));
    let x_max = points.iter().map(|p| p.offered_tps).fold(1.0, f64::max) * 1.1;
    let y_max = points.iter().map(|p| p.p99_ms).fold(10.0, f64::max) * 2.0;
    let y_min = points.iter().map(|p| p.p50_ms).fold(f64::MAX, f64::min).clamp(0.1, 1.0);

    let root = BitMapBackend::new(out, (960, 600)).into_drawing_area();
    root.fill(&WHITE).context("drawing the plot")?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(0.0..x_max, (y_min..y_max).log_scale())
        .context("laying out the plot")?;
    chart
        .configure_mesh()
        .x_desc("offered load (tx/s)")
        .y_desc("submit-to-final latency (ms, log)")
        .draw()
        .context("drawing the axes")?;
    for (name, color, value) in
        [("p50", BLUE, (|p: &Point| p.p50_ms) as fn(&Point) -> f64), ("p99", RED, |p: &Point| p.p99_ms)]
    {
        let series: Vec<(f64, f64)> = points.iter().map(|p| (p.offered_tps, value(p).max(y_min))).collect();
        chart
            .draw_series(LineSeries::new(series.clone(), color.stroke_width(2)))
            .context("drawing a line")?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        chart.draw_series(series.into_iter().map(|xy| Circle::new(xy, 4, color.filled()))).context("drawing points")?;
    }
    if let Some(max) = max_sustained {
        let line = vec![(max, y_min), (max, y_max)];
        chart
            .draw_series(LineSeries::new(line, BLACK.stroke_width(1)))
            .context("marking the maximum")?
            .label(format!("max sustained {max:.0} tx/s"))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(1)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .context("drawing the legend")?;
    root.present().with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_a_png() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("plot.png");
        let points = [
            Point { offered_tps: 100.0, p50_ms: 12.0, p99_ms: 30.0 },
            Point { offered_tps: 1000.0, p50_ms: 20.0, p99_ms: 90.0 },
            Point { offered_tps: 2000.0, p50_ms: 300.0, p99_ms: 2500.0 },
        ];
        latency_against_rate(&out, "test", &points, Some(1000.0)).unwrap();
        let bytes = std::fs::read(&out).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert!(bytes.len() > 5_000, "a real picture, {} bytes", bytes.len());
    }
}
