#!/usr/bin/env python3
"""Write the crawl benchmark's site: 10,000 product pages and 500 listing pages shaped like
books.toscrape.com, into a directory for the static server.

Product pages are the 200 real books.toscrape.com detail pages of the scrapy-bench corpus
(../shared/corpora/scrapy-bench/bookfiles.tar.gz, MIT), each reused 50 times with its title
and UPC made unique, so every page is a distinct item of realistic size (9-25 KB). Listing
pages carry 20 `article.product_pod` each, in the real pages' chrome, and a `li.next` link.

    python3 bench/crawl/gen_site.py OUT_DIR [--products 10000]
"""

import argparse
import html
import os
import re
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "..", "..", "shared", "corpora", "scrapy-bench", "bookfiles.tar.gz")
PER_PAGE = 20


def load_templates(corpus):
    pages = []
    with tarfile.open(corpus) as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            if member.isfile() and member.name.endswith(".html"):
                text = tar.extractfile(member).read().decode("utf-8")
                if '<article class="product_page">' in text:
                    pages.append(text)
    if not pages:
        raise SystemExit(f"no product pages in {corpus}")
    return pages


def field(pattern, text):
    found = re.search(pattern, text, re.S)
    return html.unescape(found.group(1).strip()) if found else ""


def product(template, n):
    title = field(r"<h1>(.*?)</h1>", template)
    unique = f"{title} (vol. {n})"
    upc = f"{n:016x}"
    page = re.sub(r"<h1>.*?</h1>", f"<h1>{html.escape(unique)}</h1>", template, count=1, flags=re.S)
    page = re.sub(r"<title>.*?</title>", f"<title>{html.escape(unique)} | Books to Scrape - Sandbox</title>", page, count=1, flags=re.S)
    page = re.sub(r"<th>UPC</th><td>[^<]*</td>", f"<th>UPC</th><td>{upc}</td>", page, count=1)
    rating = field(r'<p class="star-rating (\w+)"', template)
    price = field(r'<p class="price_color">(.*?)</p>', template)
    return page, unique, price, rating


def listing(chrome_head, chrome_tail, pods, page, pages):
    body = "".join(
        f"""
<li class="col-xs-6 col-sm-4 col-md-3 col-lg-3">
    <article class="product_pod">
        <div class="image_container">
            <a href="product-{n}.html"><img src="../media/cache/2c/da/{n:x}.jpg" alt="{html.escape(title)}" class="thumbnail"></a>
        </div>
        <p class="star-rating {rating}">
            <i class="icon-star"></i><i class="icon-star"></i><i class="icon-star"></i><i class="icon-star"></i><i class="icon-star"></i>
        </p>
        <h3><a href="product-{n}.html" title="{html.escape(title)}">{html.escape(title[:30])}...</a></h3>
        <div class="product_price">
            <p class="price_color">{price}</p>
            <p class="instock availability"><i class="icon-ok"></i> In stock</p>
            <form><button type="submit" class="btn btn-primary btn-block" data-loading-text="Adding...">Add to basket</button></form>
        </div>
    </article>
</li>"""
        for n, title, price, rating in pods
    )
    pager = f'<li class="current">Page {page} of {pages}</li>'
    if page > 1:
        pager = f'<li class="previous"><a href="page-{page - 1}.html">previous</a></li>' + pager
    if page < pages:
        pager += f'<li class="next"><a href="page-{page + 1}.html">next</a></li>'
    return (
        chrome_head
        + f'<div class="page-header action"><h1>All products</h1></div><section><ol class="row">{body}</ol>'
        + f'<div><ul class="pager">{pager}</ul></div></section>'
        + chrome_tail
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--corpus", default=CORPUS)
    args = parser.parse_args()

    templates = load_templates(args.corpus)
    first = templates[0]
    chrome_head = first[: first.index('<article class="product_page">')]
    chrome_tail = first[first.index("</article>") + len("</article>") :]
    catalogue = os.path.join(args.out, "catalogue")
    os.makedirs(catalogue, exist_ok=True)
    with open(os.path.join(args.out, "robots.txt"), "w") as f:
        f.write("User-agent: *\nDisallow: /admin/\n")

    pods = []
    total = 0
    for n in range(1, args.products + 1):
        page, title, price, rating = product(templates[n % len(templates)], n)
        with open(os.path.join(catalogue, f"product-{n}.html"), "w") as f:
            f.write(page)
        total += len(page.encode())
        pods.append((n, title, price, rating))
    pages = (len(pods) + PER_PAGE - 1) // PER_PAGE
    for p in range(1, pages + 1):
        text = listing(chrome_head, chrome_tail, pods[(p - 1) * PER_PAGE : p * PER_PAGE], p, pages)
        with open(os.path.join(catalogue, f"page-{p}.html"), "w") as f:
            f.write(text)
        total += len(text.encode())
    print(f"{args.products} product pages and {pages} listing pages, {total / 1e6:.1f} MB, in {args.out}")


if __name__ == "__main__":
    main()
