// tests/browser/pages.mjs - the media rows the browser test shows, shared by
// tests/browser.sh (which loads them into the database: `node pages.mjs`
// prints the SQL) and tests/browser/browser.mjs (which checks the pages).

const prefix = '<script>alert(1)</script><img src=x onerror=alert(2)> ' +
	'"double" \'single\' &amp; \u202Efdp.exe ';

// 300 characters: markup, quotes, an entity, an RTL override (the name's
// end would read "exe.pdf" if it were obeyed), then letters with no break
// opportunity, so that only overflow-wrap keeps it inside a phone's width.
export const hostileName = prefix + 'W'.repeat(300 - [...prefix].length);

export const pages = [
	{
		id: 'b-invoice',
		name: 'Invoice 2026-0042 \u2014 ACME GmbH.pdf',
		storage: 'acme/b-invoice.pdf',
		shot: 'token',
	},
	{
		id: 'b-hostile',
		name: hostileName,
		storage: 'acme/b-invoice.pdf',
		shot: 'hostile',
	},
];

// What the page must show for a name: the name itself, with the bidi
// embedding, override and isolate controls as U+FFFD (src/render_html.c).
export function shownName(name) {
	return name.replace(/[\u202A-\u202E\u2066-\u2069]/g, '\uFFFD');
}

// A dollar-quoted SQL literal: names hold no '$m$'.
function literal(s) {
	if (s.includes('$m$'))
		throw new Error('name holds the quote tag');
	return '$m$' + s + '$m$';
}

if (import.meta.url === `file://${process.argv[1]}`) {
	for (const p of pages) {
		console.log('INSERT INTO media (id, tenant_id, mime_type, ' +
		    'file_extension, file_name, storage_file_name) VALUES (' +
		    [p.id, 'acme', 'application/pdf', 'pdf', p.name,
		     p.storage].map(literal).join(', ') + ');');
	}
}
