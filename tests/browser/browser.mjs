// tests/browser/browser.mjs - mediagate's HTML pages in a real browser.
//
// Run by tests/browser.sh against the stack it starts (PostgreSQL,
// responders, lighttpd on 127.0.0.1). Debian's Chromium, headless, is
// driven over the DevTools protocol with playwright-core; every page is
// loaded over HTTP from the real stack, so the response headers (the
// Content-Security-Policy above all) apply as they would for a person.
//
// The token page is the answer to a POST with a bearer token: the browser
// navigates to the issuing URL and the request is turned into that POST on
// its way out (page.route + route.continue), so the browser itself sends it
// and renders what comes back.
//
// For each media of pages.mjs, at 390 and 1280 px wide, and for an error
// page, it checks from the DOM what a person sees (the link, the file name
// as text, the expiry), that no script exists or runs and no dialog opens,
// that the page fits the width, that the inline style applies under the
// CSP while an injected script and image are refused by it, that the page
// cannot be framed; it follows the link and checks the download. It
// saves a screenshot of each page and its HTML in MG_BROWSER_OUT.
//
// Environment: MG_BROWSER_BASE (http://127.0.0.1:PORT), MG_BROWSER_BEARER,
// MG_BROWSER_TTL (the responders' token lifetime), MG_BROWSER_OUT,
// MG_NODE_MODULES (where playwright-core is installed), MG_CHROMIUM
// (default /usr/bin/chromium).
//
// Output: one line per check, then Check's summary line
// "N%: Checks: N, Failures: N, Errors: N"; exit status 1 if any failed.

import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { pages, shownName } from './pages.mjs';

const require = createRequire(process.env.MG_NODE_MODULES + '/');
const { chromium } = require('playwright-core');

const base = process.env.MG_BROWSER_BASE;
const bearer = process.env.MG_BROWSER_BEARER;
const ttl = Number(process.env.MG_BROWSER_TTL || 60);
const out = process.env.MG_BROWSER_OUT;
const T = 30000;	// ms, every browser call

const CSP = "default-src 'none'; style-src 'unsafe-inline'; " +
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
const BUTTON_BG = 'rgb(11, 87, 208)';	// .cta a in src/render_html.c
// A phone (mobile emulation: the layout viewport follows the page's
// viewport meta, as on a real phone) and a desktop.
const viewports = [
	{ width: 390, height: 844, mobile: true },
	{ width: 1280, height: 800, mobile: false },
];

let checks = 0, failures = 0, errors = 0;

function check(name, ok, detail) {
	checks++;
	if (ok) {
		console.log(`ok   ${name}`);
	} else {
		failures++;
		console.log(`FAIL ${name}: ${detail ?? ''}`);
	}
}

function eq(name, got, want) {
	check(name, got === want, `got ${JSON.stringify(got)}, want ` +
	    JSON.stringify(want));
}

// Run one scenario; an exception (timeout, crash) counts as an error and
// the others still run.
async function scenario(name, fn) {
	try {
		await fn();
	} catch (e) {
		checks++;
		errors++;
		console.log(`ERROR ${name}: ${e.stack || e}`);
	}
}

// A fresh context (no cookies, no cache) with what the page does recorded.
async function open(browser, vp) {
	const ctx = await browser.newContext({
		viewport: { width: vp.width, height: vp.height },
		isMobile: vp.mobile, hasTouch: vp.mobile,
		acceptDownloads: true,
	});
	ctx.setDefaultTimeout(T);
	ctx.setDefaultNavigationTimeout(T);
	const page = await ctx.newPage();
	const seen = { dialogs: [], requests: [], errors: [] };
	page.on('dialog', d => {
		seen.dialogs.push(d.message());
		d.dismiss().catch(() => {});
	});
	page.on('request', r => seen.requests.push(r.url()));
	page.on('pageerror', e => seen.errors.push(String(e)));
	return { ctx, page, seen };
}

function expectHeaders(tag, resp, headers) {
	eq(`${tag}: Content-Security-Policy`,
	    headers['content-security-policy'], CSP);
	eq(`${tag}: X-Content-Type-Options`,
	    headers['x-content-type-options'], 'nosniff');
	eq(`${tag}: Referrer-Policy`, headers['referrer-policy'],
	    'no-referrer');
}

// What a person sees, read from the DOM.
function readPage(page) {
	return page.evaluate(() => {
		const cs = e => e ? getComputedStyle(e) : {};
		const a = document.querySelectorAll('a');
		const h1 = document.querySelector('h1');
		const bdi = h1 && h1.querySelector('bdi');
		const time = document.querySelector('time');
		const code = document.querySelector('code.token');
		const kicker = document.querySelector('.kicker');
		const right = e => e ? e.getBoundingClientRect().right : 0;
		const handlers = [...document.querySelectorAll('*')].filter(e =>
		    [...e.attributes].some(x => x.name.startsWith('on')));
		return {
			scripts: document.querySelectorAll('script').length,
			handlers: handlers.length,
			embeds: document.querySelectorAll(
			    'img, iframe, object, embed, link, form, base').length,
			links: a.length,
			href: a[0] ? a[0].getAttribute('href') : null,
			linkText: a[0] ? a[0].textContent : null,
			linkBg: cs(a[0]).backgroundColor,
			h1: h1 ? h1.textContent : null,
			bdi: bdi ? bdi.textContent : null,
			bdiBidi: cs(bdi).unicodeBidi,
			kicker: kicker ? kicker.textContent : null,
			kickerColor: cs(kicker).color,
			detail: document.querySelector('h1 + p') ?
			    document.querySelector('h1 + p').textContent : null,
			datetime: time ? time.getAttribute('datetime') : null,
			timeText: time ? time.textContent : null,
			token: code ? code.textContent : null,
			mainBg: cs(document.querySelector('main')).backgroundColor,
			scrollWidth: document.documentElement.scrollWidth,
			innerWidth: window.innerWidth,
			widest: Math.max(right(h1), right(code), right(a[0]),
			    right(document.querySelector('main'))),
		};
	});
}

// The CSP in force: an injected inline script must not run and an image
// must not load, each reported as a violation; the inline <style> of the
// page applies (checked by the callers through computed styles).
function probeCsp(page) {
	return page.evaluate(async () => {
		const v = [];
		document.addEventListener('securitypolicyviolation',
		    e => v.push(e.effectiveDirective));
		const s = document.createElement('script');
		s.textContent = 'window.__mgRan = 1;';
		document.body.appendChild(s);
		const img = document.createElement('img');
		img.src = location.origin + '/csp-probe.png';
		document.body.appendChild(img);
		await new Promise(r => setTimeout(r, 500));
		const ran = window.__mgRan === 1;
		s.remove();
		img.remove();
		return { ran, violations: v };
	});
}

function expectCommon(tag, d, seen, vp) {
	eq(`${tag}: no <script> element`, d.scripts, 0);
	eq(`${tag}: no event handler attribute`, d.handlers, 0);
	eq(`${tag}: no embedded resource, form or base`, d.embeds, 0);
	eq(`${tag}: no dialog opened`, seen.dialogs.length, 0);
	eq(`${tag}: no script error`, seen.errors.length, 0);
	eq(`${tag}: one request, the page itself`, seen.requests.length, 1);
	eq(`${tag}: the inline style applies (white card)`, d.mainBg,
	    'rgb(255, 255, 255)');
	// Without <meta name="viewport"> a phone lays the page out 980 px
	// wide and shrinks it.
	eq(`${tag}: laid out at the device width`, d.innerWidth, vp.width);
	check(`${tag}: nothing wider than the ${vp.width} px window`,
	    d.scrollWidth <= d.innerWidth && d.widest <= d.innerWidth,
	    `scrollWidth ${d.scrollWidth}, widest right edge ${d.widest}, ` +
	    `window ${d.innerWidth}`);
}

async function expectCspEnforced(tag, page) {
	const p = await probeCsp(page);
	eq(`${tag}: CSP: an injected script does not run`, p.ran, false);
	check(`${tag}: CSP: script and image refused as violations`,
	    p.violations.some(x => x.startsWith('script-src')) &&
	    p.violations.includes('img-src'), JSON.stringify(p.violations));
}

async function tokenPage(browser, def, vp, first) {
	const tag = `token page ${def.shot} ${vp.width}px`;
	const { ctx, page, seen } = await open(browser, vp);
	const issue = `${base}/media/${def.id}/download-token`;
	const t0 = Date.now() / 1000;

	await page.route(issue, route => route.continue({
		method: 'POST',
		postData: '{}',
		headers: { ...route.request().headers(),
		    authorization: `Bearer ${bearer}`,
		    'content-type': 'application/json' },
	}));
	const resp = await page.goto(issue);
	eq(`${tag}: status`, resp.status(), 201);
	const headers = await resp.allHeaders();
	expectHeaders(tag, resp, headers);
	check(`${tag}: Content-Type text/html`,
	    /^text\/html\b/.test(headers['content-type'] || ''),
	    headers['content-type']);

	const d = await readPage(page);
	expectCommon(tag, d, seen, vp);
	eq(`${tag}: one link`, d.links, 1);
	eq(`${tag}: link href is the download URL`, d.href,
	    `${base}/media/${def.id}/download/${d.token}`);
	check(`${tag}: the token is a compact JWS`,
	    /^[\w-]+\.[\w-]+\.[\w-]+$/.test(d.token || ''), d.token);
	eq(`${tag}: the file name is the heading's text`, d.h1,
	    shownName(def.name));
	eq(`${tag}: the file name is isolated (bdi)`, d.bdi,
	    shownName(def.name));
	eq(`${tag}: bdi is unicode-bidi:isolate`, d.bdiBidi, 'isolate');
	eq(`${tag}: the link looks like a button`, d.linkBg, BUTTON_BG);
	check(`${tag}: expiry as an absolute UTC time`,
	    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(d.datetime || '') &&
	    Math.abs(Date.parse(d.datetime) / 1000 - (t0 + ttl)) < 120 &&
	    / UTC$/.test(d.timeText || ''),
	    `datetime ${d.datetime}, text ${d.timeText}, want about ` +
	    new Date((t0 + ttl) * 1000).toISOString());

	await page.screenshot({ path: `${out}/${def.shot}-${vp.width}.png`,
	    fullPage: true, timeout: T });
	if (first)
		writeFileSync(`${out}/${def.shot}.html`, await resp.body());
	if (first && def.shot === 'token') {
		// The card alone, for the README (doc/token-page.png).
		const box = await page.locator('main').boundingBox();
		await page.screenshot({ path: `${out}/token-card.png`,
		    clip: { x: box.x - 24, y: Math.max(0, box.y - 24),
		    width: box.width + 48, height: box.height + 48 },
		    timeout: T });
	}
	await expectCspEnforced(tag, page);

	// Follow the link: the browser downloads the file under its name,
	// and sends no Referer (the page's Referrer-Policy).
	if (first && def.shot === 'token') {
		const [dl, req] = await Promise.all([
			page.waitForEvent('download', { timeout: T }),
			page.waitForRequest(r => r.url().includes('/download/'),
			    { timeout: T }),
			page.click('p.cta a', { timeout: T }),
		]);
		eq(`${tag}: the link downloads the file under its name`,
		    dl.suggestedFilename(), def.name);
		const rh = await req.allHeaders();
		eq(`${tag}: the download request has no Referer`,
		    rh.referer, undefined);
		await dl.cancel().catch(() => {});
	}
	await ctx.close();
}

async function errorPage(browser, vp) {
	const tag = `error page ${vp.width}px`;
	const { ctx, page, seen } = await open(browser, vp);
	const resp = await page.goto(
	    `${base}/media/b-invoice/download/not-a-token`);

	eq(`${tag}: status`, resp.status(), 403);
	expectHeaders(tag, resp, await resp.allHeaders());
	const d = await readPage(page);
	expectCommon(tag, d, seen, vp);
	eq(`${tag}: heading`, d.h1, 'Forbidden');
	eq(`${tag}: status shown`, d.kicker, 'Error 403');
	eq(`${tag}: status in the error colour`, d.kickerColor,
	    'rgb(179, 38, 30)');
	check(`${tag}: the problem detail is shown`,
	    (d.detail || '').length > 10, d.detail);
	eq(`${tag}: no link`, d.links, 0);
	await page.screenshot({ path: `${out}/error-${vp.width}.png`,
	    fullPage: true, timeout: T });
	if (vp.width === viewports[1].width)
		writeFileSync(`${out}/error.html`, await resp.body());
	await expectCspEnforced(tag, page);
	await ctx.close();
}

// frame-ancestors 'none': another page cannot frame ours.
async function framing(browser) {
	const tag = 'framing';
	const { ctx, page } = await open(browser, viewports[1]);
	const target = `${base}/media/b-invoice/download/not-a-token`;

	await page.setContent(`<iframe src="${target}"></iframe>`);
	const frame = await (await page.waitForSelector('iframe'))
	    .contentFrame();
	await frame.waitForLoadState('load', { timeout: T }).catch(() => {});
	const h1 = await frame.evaluate(() => {
		const e = document.querySelector('h1');
		return e ? e.textContent : null;
	}).catch(() => null);
	check(`${tag}: the page does not render inside a frame`,
	    h1 !== 'Forbidden', `frame ${frame.url()} shows "${h1}"`);
	await ctx.close();
}

const browser = await chromium.launch({
	executablePath: process.env.MG_CHROMIUM || '/usr/bin/chromium',
	headless: true,
	chromiumSandbox: false,		// --no-sandbox: we may run as root
	timeout: 60000,
	args: ['--disable-gpu', '--disable-quic', '--no-first-run',
	    '--disable-background-networking', '--disable-component-update',
	    '--disable-sync'],
});
console.log(`browser: Chromium ${browser.version()}`);
try {
	for (const def of pages)
		for (const [i, vp] of viewports.entries())
			await scenario(`token page ${def.shot} ${vp.width}px`,
			    () => tokenPage(browser, def, vp, i === 1));
	for (const vp of viewports)
		await scenario(`error page ${vp.width}px`,
		    () => errorPage(browser, vp));
	await scenario('framing', () => framing(browser));
} finally {
	await browser.close();
}

const passed = checks - failures - errors;
console.log(`${checks ? Math.floor(100 * passed / checks) : 100}%: ` +
    `Checks: ${checks}, Failures: ${failures}, Errors: ${errors}`);
process.exit(failures || errors ? 1 : 0);
