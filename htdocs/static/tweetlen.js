/*
 * A post's length as X counts it, for the live counter: twitter-text's
 * parseTweet() with configuration v3.  lib/tweetlen.c is the same
 * algorithm on the server, which has the last word;
 * tests/unit/tweetlen-agree.js checks that the two agree.
 *
 * sosyabotTweetLength(text) -> { weightedLength, valid, permillage, urls }.
 * Needs tld.js loaded first (in Node it is required).
 *
 * URLs are found with twitter-text's own regular expressions, built the
 * same way.  Emoji follow twemoji's grammar (what twitter-text uses) but
 * from Unicode properties instead of its list: keycaps, flag pairs, and a
 * pictograph with an optional VS16 and skin tone, tag sequence and
 * ZWJ-joined further ones; (c), (R), TM and the chess pawn only with VS16.
 */
(function (root) {
	"use strict";
	var tlds = typeof module === "object" && module.exports ?
	    require("./tld.js") : root.sosyabotTLDs;

	var MAX = 280, SCALE = 100, DEFAULT_WEIGHT = 200, URL_LENGTH = 23;
	var MAX_URL_LENGTH = 4096, MAX_TCO_SLUG = 40, MAX_LABEL = 63;

	// twitter-text's regexp/*.js, spelled out.
	var punct = "\\!'#%&'\\(\\)*\\+,\\\\\\-\\.\\/:;<=>\\?@\\[\\]\\^_{|}~\\$";
	var spaces = "\\x09-\\x0D\\x20\\x85\\xA0\\u1680\\u180E\\u2000-\\u200A" +
	    "\\u2028\\u2029\\u202F\\u205F\\u3000";
	var invalid = "\\uFFFE\\uFEFF\\uFFFF";
	var directional = "\\u202A-\\u202E\\u061C\\u200E\\u200F\\u2066\\u2067" +
	    "\\u2068\\u2069";
	var cyrillic = "\\u0400-\\u04FF";
	var latin = "\\xC0-\\xD6\\xD8-\\xF6\\xF8-\\xFF\\u0100-\\u024F\\u0253" +
	    "\\u0254\\u0256\\u0257\\u0259\\u025B\\u0263\\u0268\\u026F\\u0272" +
	    "\\u0289\\u028B\\u02BB\\u0300-\\u036F\\u1E00-\\u1EFF";
	var domainChar = "[^" + punct + spaces + invalid + directional + "]";
	var subdomain = "(?:(?:" + domainChar + "(?:[_-]|" + domainChar +
	    ")*)?" + domainChar + "\\.)";
	var domainName = "(?:(?:" + domainChar + "(?:-|" + domainChar + ")*)?" +
	    domainChar + "\\.)";
	var tldEnd = "(?=[^0-9a-zA-Z@+-]|$))";
	var gTLD = "(?:(?:" + tlds.generic.join("|") + ")" + tldEnd;
	var ccTLD = "(?:(?:" + tlds.country.join("|") + ")" + tldEnd;
	var punycode = "(?:xn--[\\-0-9a-z]+)";
	var anyTLD = "(?:" + gTLD + "|" + ccTLD + "|" + punycode + ")";
	var domain = "(?:" + subdomain + "*" + domainName + anyTLD + ")";
	var pathChar = "[a-z" + cyrillic + "0-9!\\*';:=\\+,\\.\\$\\/%#\\[\\]" +
	    "\\-\\u2013_~@\\|&" + latin + "]";
	var parens = "\\((?:" + pathChar + "+|(?:" + pathChar + "*\\(" +
	    pathChar + "+\\)" + pathChar + "*))\\)";
	// Inserted without parentheses, as twitter-text does: its "|" splits
	// the path group below, and the counts depend on that.
	var pathEnd = "[\\+\\-a-z" + cyrillic + "0-9=_#\\/" + latin + "]|(?:" +
	    parens + ")";
	var path = "(?:(?:" + pathChar + "*(?:" + parens + pathChar + "*)*" +
	    pathEnd + ")|(?:@" + pathChar + "+\\/))";
	var queryChar = "[a-z0-9!?\\*'@\\(\\);:&=\\+\\$\\/%#\\[\\]\\-_\\.,~|]";
	var queryEnd = "[a-z0-9\\-_&=#\\/]";
	var preceding = "(?:[^A-Za-z0-9@\uFF20$#\uFF03" + invalid + "]|[" +
	    directional + "]|^)";
	var extractUrl = new RegExp("((" + preceding + ")((https?:\\/\\/)?(" +
	    domain + ")(?::([0-9]+))?(\\/" + path + "*)?(\\?" + queryChar + "*" +
	    queryEnd + ")?))", "gi");
	var asciiDomain = new RegExp("(?:(?:[\\-a-z0-9" + latin + "]+)\\.)+" +
	    anyTLD, "gi");
	var tcoUrl = new RegExp("^https?:\\/\\/t\\.co\\/([a-z0-9]+)(?:\\?" +
	    queryChar + "*" + queryEnd + ")?", "i");
	var noProtocolBefore = /[-_.\/]$/;

	var variant = "\\u00A9\\u00AE\\u2122\\u265F";
	var base = "(?![\\p{Emoji_Modifier}\\p{Regional_Indicator}#*0-9" +
	    variant + "])(?:\\p{Emoji}|(?=\\p{Cn})\\p{Extended_Pictographic})";
	var element = "(?:[" + variant + "]\\uFE0F|" + base +
	    "\\uFE0F?\\p{Emoji_Modifier}?)";
	var emoji = new RegExp("[#*0-9]\\uFE0F?\\u20E3" +
	    "|\\p{Regional_Indicator}{1,2}" +
	    "|" + element + "(?:[\\u{E0020}-\\u{E007E}]+\\u{E007F})?" +
	    "(?:\\u200D" + element + ")*" +
	    "|\\p{Emoji_Modifier}", "gu");

	// punycode.toASCII(label).length, or 64 once it is too long anyway.
	function asciiLength(label) {
		var total = 0, parts = label.split(/[\x2E\u3002\uFF0E\uFF61]/);
		for (var i = 0; i < parts.length && total <= MAX_LABEL; i++)
			total += (i > 0 ? 1 : 0) + punycodeLength(parts[i]);
		return Math.min(total, MAX_LABEL + 1);
	}

	// RFC 3492 as punycode.js encodes, counting only.
	function punycodeLength(s) {
		if (!/[^\0-\x7E]/.test(s))
			return s.length;
		var cps = Array.from(s, function (c) { return c.codePointAt(0); });
		// Every code point costs at least one character after "xn--".
		if (cps.length > MAX_LABEL - 4)
			return MAX_LABEL + 1;
		var basic = cps.filter(function (c) { return c < 0x80; }).length;
		var out = 4 + basic + (basic ? 1 : 0);
		var n = 0x80, delta = 0, bias = 72, h = basic;
		while (h < cps.length) {
			var m = Infinity;
			cps.forEach(function (c) { if (c >= n && c < m) m = c; });
			delta += (m - n) * (h + 1);
			n = m;
			for (var j = 0; j < cps.length; j++) {
				if (cps[j] < n)
					delta++;
				if (cps[j] !== n)
					continue;
				var q = delta;
				for (var k = 36; ; k += 36) {
					var t = k <= bias ? 1 : k >= bias + 26 ? 26 : k - bias;
					if (q < t)
						break;
					out++;
					q = Math.floor((q - t) / (36 - t));
				}
				out++;
				bias = adapt(delta, h + 1, h === basic);
				delta = 0;
				h++;
			}
			delta++;
			n++;
		}
		return out;
	}

	function adapt(delta, points, first) {
		var k = 0;
		delta = first ? Math.floor(delta / 700) : delta >> 1;
		delta += Math.floor(delta / points);
		for (; delta > 455; k += 36)
			delta = Math.floor(delta / 35);
		return Math.floor(k + 36 * delta / (delta + 38));
	}

	// twitter-text's isValidUrl() with its idna.toAscii().
	function validUrl(url, protocol, domainText) {
		if (domainText.substring(0, 4) === "xn--" &&
		    !domainText.match(asciiDomain))
			return false;
		var labels = domainText.split(".");
		for (var i = 0; i < labels.length; i++) {
			var len = asciiLength(labels[i]);
			if (len < 1 || len > MAX_LABEL)
				return false;
		}
		return protocol.length + url.length <= MAX_URL_LENGTH;
	}

	// twitter-text's extractUrlsWithIndices(): [start, length in UTF-16
	// units], one per URL, in order.
	function urls(text) {
		var found = [], m;
		if (text.indexOf(".") < 0)
			return found;
		extractUrl.lastIndex = 0;
		while ((m = extractUrl.exec(text)) !== null) {
			var before = m[2], url = m[3], protocol = m[4], dom = m[5];
			var hasPath = !!m[7], end = extractUrl.lastIndex;
			var start = end - url.length;
			if (!validUrl(url, protocol || "https://", dom))
				continue;
			if (!protocol) {
				if (noProtocolBefore.test(before))
					continue;
				var last = null, asciiEnd = 0;
				dom.replace(asciiDomain, function (ascii) {
					var at = dom.indexOf(ascii, asciiEnd);
					asciiEnd = at + ascii.length;
					last = [start + at, ascii.length];
					found.push(last);
				});
				if (last && hasPath)
					last[1] += url.length - dom.length;
				continue;
			}
			var tco = url.match(tcoUrl);
			if (tco) {
				if (tco[1].length > MAX_TCO_SLUG)
					continue;
				url = tco[0];
			}
			found.push([start, url.length]);
		}
		return found;
	}

	function emojiAt(text) {
		var at = {}, m;
		emoji.lastIndex = 0;
		while ((m = emoji.exec(text)) !== null)
			at[m.index] = m[0].length;
		return at;
	}

	function weight(unit) {
		return unit <= 0x10FF || (unit >= 0x2000 && unit <= 0x200D) ||
		    (unit >= 0x2010 && unit <= 0x201F) ||
		    (unit >= 0x2032 && unit <= 0x2037) ? 100 : DEFAULT_WEIGHT;
	}

	function sosyabotTweetLength(text) {
		var s = String(text).normalize("NFC");
		var urlAt = {}, emojiLen = emojiAt(s), w = 0, valid = true, n = 0;
		urls(s).forEach(function (u) { urlAt[u[0]] = u[1]; });
		for (var i = 0; i < s.length; i++) {
			var c = s.charCodeAt(i);
			if (urlAt[i]) {
				w += URL_LENGTH * SCALE;
				n++;
				i += urlAt[i] - 1;
			} else if (emojiLen[i]) {
				w += DEFAULT_WEIGHT;
				i += emojiLen[i] - 1;
			} else {
				if (c >= 0xD800 && c <= 0xDBFF && i + 1 < s.length) {
					var d = s.charCodeAt(i + 1);
					if (d >= 0xDC00 && d <= 0xDFFF)
						i++;
				}
				w += weight(s.charCodeAt(i));
			}
			// As twitter-text: the last unit of what was just counted.
			c = s.charCodeAt(i);
			if (c === 0xFFFE || c === 0xFEFF || c === 0xFFFF)
				valid = false;
		}
		w /= SCALE;
		return {
			weightedLength: w,
			valid: valid && w > 0 && w <= MAX,
			permillage: Math.floor(w / MAX * 1000),
			urls: n
		};
	}

	if (typeof module === "object" && module.exports)
		module.exports = sosyabotTweetLength;
	else
		root.sosyabotTweetLength = sosyabotTweetLength;
}(this));
