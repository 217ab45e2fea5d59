//! Micro-benchmarks of the per-request hot paths, so a regression shows in `cargo bench`:
//! ray IDs, request head rewriting, failure classification, error pages, the trace, and what
//! each finished request costs the observers (log line in both formats, the whole hand-over).

use std::hint::black_box;
use std::io;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use http::Request;

use edgecase::config::{LogFormat, Timestamps};
use edgecase::edge::Visit;
use edgecase::edge::forward::{origin_request, visitor_response};
use edgecase::failure::{OriginFailure, Unknown};
use edgecase::observe::Observers;
use edgecase::observe::logline;
use edgecase::pages::{self, Hop, PageContext, PageKind};
use edgecase::ray::{Colo, RayGenerator, RayId};
use edgecase::record::ExchangeFacts;
use edgecase::record::finished::{Ending, Finished};
use edgecase::trace::Trace;

fn ray_ids(c: &mut Criterion) {
    let generator = RayGenerator::seeded(1);
    c.bench_function("ray/next", |b| {
        b.iter(|| black_box(generator.next(Colo::DEFAULT)))
    });
    let ray = generator.next(Colo::DEFAULT);
    c.bench_function("ray/format", |b| b.iter(|| black_box(ray.to_string())));
}

fn head_rewriting(c: &mut Criterion) {
    let visit = Visit {
        peer: "127.0.0.1:50000".parse().expect("literal address"),
        local: "127.0.0.1:8080".parse().expect("literal address"),
        tls: None,
        overloaded: false,
    };
    let ray = RayId::new(0x1234_5678_9abc_def0, Colo::DEFAULT);
    let request = || {
        Request::get("/api/items?page=2")
            .header("host", "shop.example.test")
            .header(
                "user-agent",
                "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/130.0",
            )
            .header("accept", "text/html,application/xhtml+xml")
            .header("accept-language", "fr-FR,fr;q=0.9")
            .header("cookie", "session=abcdef0123456789; theme=dark")
            .header("connection", "keep-alive")
            .body(())
            .expect("valid request")
            .into_parts()
            .0
    };
    c.bench_function("forward/origin_request", |b| {
        b.iter_batched(
            request,
            |parts| black_box(origin_request(parts, (), &visit, ray, false)),
            criterion::BatchSize::SmallInput,
        )
    });
    let response = || {
        http::Response::builder()
            .header("server", "nginx")
            .header("content-type", "text/html")
            .header("content-length", "5120")
            .body(())
            .expect("valid response")
    };
    c.bench_function("forward/visitor_response", |b| {
        b.iter_batched(
            response,
            |r| black_box(visitor_response(r, ray)),
            criterion::BatchSize::SmallInput,
        )
    });
}

fn classification(c: &mut Criterion) {
    let failures = [
        OriginFailure::Unknown(Unknown::EmptyReply),
        OriginFailure::Refused(io::Error::from(io::ErrorKind::ConnectionRefused)),
        OriginFailure::ReadTimeout {
            after: Duration::from_secs(100),
        },
        OriginFailure::Gateway { status: 502 },
    ];
    c.bench_function("failure/status_page_tag", |b| {
        b.iter(|| {
            for failure in &failures {
                black_box((
                    failure.status(),
                    edgecase::pages::PageKind::of(failure),
                    failure.tag(),
                ));
            }
        })
    });
}

fn error_pages(c: &mut Criterion) {
    let context = PageContext {
        host: "shop.example.test",
        ray: RayId::new(0x1234_5678_9abc_def0, Colo::DEFAULT),
        client_ip: "127.0.0.1".parse().expect("literal address"),
        at: SystemTime::now(),
        retry_after: true,
    };
    let kinds = [
        (
            "branded_522",
            PageKind::Branded {
                status: 522,
                failing: Hop::Host,
            },
        ),
        (
            "numbered_1016",
            PageKind::Numbered {
                status: 530,
                code: 1016,
            },
        ),
        ("unbranded_502", PageKind::Unbranded { status: 502 }),
    ];
    for (name, kind) in kinds {
        c.bench_function(&format!("pages/{name}"), |b| {
            b.iter(|| black_box(pages::render(kind, &context)))
        });
    }
}

fn trace(c: &mut Criterion) {
    let trace = Trace {
        instance: "464f193",
        host: "shop.example.test",
        ip: "127.0.0.1".parse().expect("literal address"),
        at: SystemTime::now(),
        tls: None,
        user_agent: "curl/8.5.0",
        version: http::Version::HTTP_11,
        ray: RayId::new(1, Colo::DEFAULT),
    };
    c.bench_function("trace/response", |b| b.iter(|| black_box(trace.response())));
}

/// A finished proxied 200, as the observers get it.
fn finished_ok() -> Finished {
    let mut headers = http::HeaderMap::new();
    headers.insert("user-agent", http::HeaderValue::from_static("wrk"));
    headers.insert("host", http::HeaderValue::from_static("shop.example.test"));
    Finished {
        ray: RayId::new(0x1234_5678_9abc_def0, Colo::DEFAULT),
        proxy: Arc::from("edgecase"),
        at: SystemTime::now(),
        method: http::Method::GET,
        version: http::Version::HTTP_11,
        https: false,
        client_tls: None,
        host: "shop.example.test".into(),
        path: "/products/42?ref=home".into(),
        client: "127.0.0.1:50000".parse().expect("literal address"),
        edge: "127.0.0.1:8080".parse().expect("literal address"),
        request_headers: Arc::new(headers),
        request_bytes: 0,
        request_body: None,
        status: 200,
        origin_status: Some(200),
        cause: None,
        fault: None,
        ssl: None,
        scenario: None,
        origin: ExchangeFacts {
            peer: Some("127.0.0.1:3000".parse().expect("literal address")),
            reused: true,
            wait: Some(Duration::from_micros(300)),
            send: Some(Duration::ZERO),
            ..ExchangeFacts::default()
        },
        head_after: Duration::from_micros(400),
        total: Duration::from_micros(450),
        ending: Ending::Complete,
        response_headers: http::HeaderMap::new(),
        response_bytes: 612,
        response_body: None,
    }
}

fn observers(c: &mut Criterion) {
    let finished = finished_ok();
    c.bench_function("log/text", |b| {
        b.iter(|| {
            black_box(logline::line(
                &finished,
                LogFormat::Text,
                Timestamps::UnixNano,
            ))
        })
    });
    c.bench_function("log/json", |b| {
        b.iter(|| {
            black_box(logline::line(
                &finished,
                LogFormat::Json,
                Timestamps::UnixNano,
            ))
        })
    });
    // The whole hand-over with the log off: metrics, analytics, the recent-requests ring.
    let mut config = edgecase::config::Config::default();
    config.log.access = edgecase::config::Access::Off;
    let observers = Observers::new(&config).expect("nothing to open");
    c.bench_function("observe/finish", |b| {
        b.iter(|| observers.finish(black_box(finished.clone())))
    });
}

criterion_group!(
    benches,
    ray_ids,
    head_rewriting,
    classification,
    error_pages,
    trace,
    observers
);
criterion_main!(benches);
