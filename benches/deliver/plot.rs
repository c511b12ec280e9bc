//! A throughput run's figures as JSON and its course as an SVG chart, under `target/bench/`:
//! messages per second at the fake provider and the queue depth (messages not yet accepted),
//! both from the fake's own arrival instants, in steps of 250 ms.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use plotters::prelude::*;

/// The run's course, one point a step from the moment the workers were told to go.
pub struct Course {
    pub seconds: Vec<f64>,
    pub per_second: Vec<f64>,
    pub depth: Vec<f64>,
}

const STEP: Duration = Duration::from_millis(250);

/// The course of `queued` messages whose requests reached the fake at `arrivals` (in order).
pub fn course(arrivals: &[Instant], started: Instant, queued: u64) -> Course {
    let mut course = Course { seconds: vec![0.0], per_second: vec![0.0], depth: vec![queued as f64] };
    let mut sent = 0usize;
    let mut step_end = started + STEP;
    while sent < arrivals.len() {
        let before = sent;
        while sent < arrivals.len() && arrivals[sent] < step_end {
            sent += 1;
        }
        course.seconds.push((step_end - started).as_secs_f64());
        course.per_second.push((sent - before) as f64 / STEP.as_secs_f64());
        course.depth.push(queued.saturating_sub(sent as u64) as f64);
        step_end += STEP;
    }
    course
}

/// Writes `<name>.json` (the figures and the course) and `<name>.svg`; returns the SVG's path.
pub fn write(name: &str, title: &str, figures: serde_json::Value, course: &Course) -> PathBuf {
    let dir = crate::common::bench_dir();
    let json = serde_json::json!({
        "figures": figures,
        "step_seconds": STEP.as_secs_f64(),
        "seconds": course.seconds,
        "messages_per_second": course.per_second,
        "queue_depth": course.depth,
    });
    let data = serde_json::to_vec_pretty(&json).expect("JSON");
    std::fs::write(dir.join(format!("{name}.json")), data).expect("write the figures");
    let svg = dir.join(format!("{name}.svg"));
    chart(&svg, title, course).expect("draw the chart");
    svg
}

fn chart(path: &PathBuf, title: &str, course: &Course) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (900, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let end = course.seconds.last().copied().unwrap_or(1.0).max(1.0);
    let top = course.per_second.iter().copied().fold(1.0, f64::max) * 1.1;
    let deepest = course.depth.iter().copied().fold(1.0, f64::max) * 1.05;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .right_y_label_area_size(72)
        .build_cartesian_2d(0.0..end, 0.0..top)?
        .set_secondary_coord(0.0..end, 0.0..deepest);
    let whole = |value: &f64| format!("{value:.0}");
    chart
        .configure_mesh()
        .x_desc("seconds")
        .y_desc("messages/s")
        .x_label_formatter(&whole)
        .y_label_formatter(&whole)
        .draw()?;
    chart.configure_secondary_axes().y_desc("queue depth").y_label_formatter(&whole).draw()?;
    let rate = course.seconds.iter().copied().zip(course.per_second.iter().copied());
    chart
        .draw_series(LineSeries::new(rate, BLUE.stroke_width(2)))?
        .label("messages/s")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLUE));
    let depth = course.seconds.iter().copied().zip(course.depth.iter().copied());
    chart
        .draw_secondary_series(LineSeries::new(depth, RED.stroke_width(2)))?
        .label("queue depth")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], RED));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
