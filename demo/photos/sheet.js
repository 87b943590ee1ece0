// The contact sheet: one row per query, the query photo first and then the
// photos the search returned, each framed in the colour it was given.
//
//   node sheet.js < spec.json
//   spec: {"out": "sheet.png", "cell": 128, "frame": 4, "gap": 8,
//          "rows": [[{"file": "q.jpg", "colour": [90,90,90]}, {"file": ..., "colour": [...]}, ...], ...]}
//
// The query column stands a gap apart from its neighbours; a cell's frame
// fills its edge, the photo is fitted inside it on white.  Prints the PNG's
// width and height.
'use strict';
const fs = require('fs');
const { need } = require('./modules');

function layout(spec) {
	const cell = spec.cell || 128, frame = spec.frame || 4, gap = spec.gap || 8;
	const columns = Math.max(...spec.rows.map((r) => r.length));
	const width = gap + columns * (cell + gap) + gap;
	const height = gap + spec.rows.length * (cell + gap);
	// top-left corner of row r, column c
	const at = (r, c) => ({ left: gap + c * (cell + gap) + (c > 0 ? gap : 0), top: gap + r * (cell + gap) });
	return { cell, frame, gap, columns, width, height, at };
}

async function drawSheet(spec) {
	const sharp = need('sharp');
	const L = layout(spec);
	const inner = L.cell - 2 * L.frame;
	const layers = [];
	for (const [r, row] of spec.rows.entries()) {
		for (const [c, item] of row.entries()) {
			const [red, green, blue] = item.colour;
			const photo = await sharp(item.file).rotate().flatten({ background: '#ffffff' })
				.resize(inner, inner, { fit: 'contain', background: '#ffffff' }).removeAlpha().png().toBuffer();
			const framed = await sharp({ create: { width: L.cell, height: L.cell, channels: 3, background: { r: red, g: green, b: blue } } })
				.composite([{ input: photo, left: L.frame, top: L.frame }]).png().toBuffer();
			layers.push({ input: framed, ...L.at(r, c) });
		}
	}
	await sharp({ create: { width: L.width, height: L.height, channels: 3, background: '#ffffff' } })
		.composite(layers).removeAlpha().png().toFile(spec.out);
	return { width: L.width, height: L.height };
}

module.exports = { drawSheet, layout };

if (require.main === module) {
	const spec = JSON.parse(fs.readFileSync(0, 'utf8'));
	drawSheet(spec).then(({ width, height }) => process.stdout.write(`${width} ${height}\n`)).catch((e) => {
		process.stderr.write(`sheet.js: ${e.message}\n`);
		process.exit(1);
	});
}
