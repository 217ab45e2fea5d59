//! Micro-benchmarks of the per-request hot paths, so a regression shows in `cargo bench`:
//! ray IDs, request head rewriting, failure classification, error pages and the trace.

use std::hint::black_box;
use std::io;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use http::Request;

use edgecase::edge::Visit;
use edgecase::edge::forward::{origin_request, visitor_response};
use edgecase::failure::{OriginFailure, Unknown};
use edgecase::pages::{self, Hop, PageContext, PageKind};
use edgecase::ray::{Colo, RayGenerator, RayId};
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
            |parts| black_box(origin_request(parts, (), &visit, ray)),
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
                black_box((failure.status(), failure.page(), failure.tag()));
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

criterion_group!(
    benches,
    ray_ids,
    head_rewriting,
    classification,
    error_pages,
    trace
);
criterion_main!(benches);
