// The guide's steps in a real browser (Debian's Chromium, headless).
// Each step prints "ok - ..." or "not ok - ..."; a failure keeps the
// screenshot of that moment in the artifacts directory.
"use strict";
const { chromium } = require("playwright-core");
const fs = require("fs");
const path = require("path");

const BASE = process.env.E2E_BASE;
const PASSWORD = process.env.E2E_PASSWORD;
const MEMBER_PASSWORD = process.env.E2E_MEMBER_PASSWORD;
const FAKEX = process.env.E2E_FAKEX;
const SERVER = process.env.E2E_SERVER || "apache";
const ART = process.env.E2E_ARTIFACTS || path.join(__dirname, "artifacts");
const PAGE = "/admin/api-integration/x-twitter";
const results = { passed: 0, failed: 0 };

fs.mkdirSync(ART, { recursive: true });

async function fake(method, p, doc) {
	const r = await fetch(FAKEX + p, {
		method, headers: { "Content-Type": "application/json" },
		body: doc ? JSON.stringify(doc) : undefined,
	});
	const text = await r.text();
	return text ? JSON.parse(text) : null;
}

async function shot(page, name) {
	await page.screenshot({ path: path.join(ART, name + ".png"), fullPage: true });
}

async function step(page, name, fn) {
	try {
		await fn();
		results.passed++;
		console.log(`ok - [${SERVER}] ${name}`);
	} catch (e) {
		results.failed++;
		const file = "FAILED-" + name.replace(/[^a-z0-9]+/gi, "-").slice(0, 60);
		console.log(`not ok - [${SERVER}] ${name}`);
		console.log("#   " + String(e.message || e).split("\n").slice(0, 6).join("\n#   "));
		try { await shot(page, file); console.log(`#   screenshot: ${file}.png`); } catch (_) {}
	}
}

function expect(cond, what) {
	if (!cond) throw new Error(what);
}

// Desktop and phone widths of the page now open.
async function shots(page, name) {
	await shot(page, name + "-desktop");
	const vp = page.viewportSize();
	await page.setViewportSize({ width: 360, height: 740 });
	await shot(page, name + "-phone");
	await page.setViewportSize(vp);
}

(async () => {
	const browser = await chromium.launch({
		executablePath: "/usr/bin/chromium",
		args: ["--headless", "--no-sandbox", "--disable-gpu",
			"--disable-background-networking", "--disable-component-update",
			"--disable-sync", "--no-first-run", "--disable-quic"],
	});
	const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
	const page = await context.newPage();
	page.setDefaultTimeout(15000);
	const secret = "e2e-secret-" + Math.random().toString(36).slice(2);
	await fake("POST", "/_fake/apps", {
		client_id: "e2eapp-client-id", client_secret: secret,
		callback: BASE + "/api/v1/auth/twitter/callback", type: "confidential",
	});

	try {
		await step(page, "admin signs in", async () => {
			await page.goto(BASE + "/login");
			await shots(page, "login");
			await page.getByLabel("User name").fill("admin");
			await page.getByLabel("Password").fill(PASSWORD);
			await page.getByRole("button", { name: "Sign in" }).click();
			await page.waitForURL(/\/app\/channels|\/admin/);
			expect((await context.cookies()).some(c => c.name === "sid" && c.httpOnly),
				"no HttpOnly session cookie");
		});

		await step(page, "Admin panel → OAuth Credentials → X (Twitter)", async () => {
			await page.goto(BASE + "/admin");
			await shots(page, "admin-home");
			await page.getByRole("link", { name: "X (Twitter)" }).click();
			await page.waitForURL(BASE + PAGE);
			expect(await page.locator("#callback-url").inputValue() ===
				BASE + "/api/v1/auth/twitter/callback", "callback URL not shown");
		});

		await step(page, "paste Client ID and Secret, Enable, Save", async () => {
			await page.getByLabel("Client ID").fill("e2eapp-client-id");
			await page.getByLabel("Client Secret").fill(secret);
			await page.getByLabel("Enable").check();
			await page.getByRole("button", { name: "Save", exact: true }).click();
			await page.waitForURL(/n=saved/);
			const text = await page.locator("main").innerText();
			expect(text.includes("Saved."), "no saved notice");
			expect(!(await page.content()).includes(secret), "secret sent back to the browser");
			expect(await page.locator('[data-source="client_secret"]').innerText() === "admin panel",
				"secret source not shown");
		});

		await step(page, "Test credentials: first 6 characters, callback, X accepted", async () => {
			await page.getByRole("button", { name: "Test credentials" }).click();
			const result = page.locator("#test-result");
			await result.waitFor();
			const text = await result.innerText();
			expect(text.includes("e2eapp"), "first 6 characters missing: " + text);
			expect(!text.includes("e2eapp-"), "more than 6 characters shown");
			expect(text.includes(BASE + "/api/v1/auth/twitter/callback"), "callback missing");
			expect(text.includes("X accepted these credentials"), "live check: " + text);
			await shots(page, "admin-x-twitter");
		});

		await step(page, "keyboard: the form can be used without a mouse", async () => {
			await page.goto(BASE + PAGE);
			await page.locator("#client_id").focus();
			await page.keyboard.press("Tab");
			const id = await page.evaluate(() => document.activeElement.id);
			expect(id === "client_secret", "Tab from Client ID went to " + id);
		});

		await fake("POST", "/_fake/users", { id: "2244994945", username: "XDevelopers",
			name: "X Developers" });
		const memberContext = await browser.newContext({ viewport: { width: 1280, height: 860 } });
		const m = await memberContext.newPage();
		m.setDefaultTimeout(15000);

		await step(m, "a member signs in and opens Channels", async () => {
			await m.goto(BASE + "/app/channels");
			await m.waitForURL(/\/login/);
			await m.getByLabel("User name").fill("mia");
			await m.getByLabel("Password").fill(MEMBER_PASSWORD);
			await m.getByRole("button", { name: "Sign in" }).click();
			await m.waitForURL(BASE + "/app/channels");
			expect(await m.locator("#no-channels").isVisible(), "channels not empty");
		});

		await step(m, "Connect → X (Twitter) → OAuth, deny on X: Connection cancelled", async () => {
			await m.locator("#connect-oauth").click();
			await m.waitForURL(FAKEX + "/**");
			await m.locator("#deny").click();
			await m.waitForURL(/n=cancelled/);
			expect((await m.locator("main").innerText()).includes("Connection cancelled"),
				"no cancelled notice");
		});

		await step(m, "Connect → X (Twitter) → OAuth, approve: back with the account active", async () => {
			await m.getByRole("link", { name: "OAuth" }).click();
			await m.waitForURL(FAKEX + "/**");
			await shot(m, "x-consent");
			await m.locator("select#user").selectOption("2244994945");
			await m.locator("#approve").click();
			await m.waitForURL(BASE + "/app/channels?n=connected");
			const row = m.locator("#channels tbody tr").first();
			expect((await row.innerText()).includes("@XDevelopers"), "handle missing");
			expect((await row.locator(".badge").innerText()) === "active", "not active");
			await shots(m, "channels");
		});

		await step(m, "Publishing: the counter moves, Publish now, the post is on X", async () => {
			await m.getByRole("link", { name: "Publishing" }).click();
			await m.waitForURL(BASE + "/app/publishing");
			const text = "Hello from the smoke test " + Date.now() + " https://example.com 🎉";
			await m.locator("#text").fill(text);
			const count = await m.locator("#counter").innerText();
			// 26 + 13 digits + 2 spaces = 41, the URL as 23, the emoji as 2: 66.
			expect(count.startsWith("66 / 280"), "counter says " + count);
			await m.getByRole("button", { name: "Publish now" }).click();
			await m.waitForURL(/n=sent/);
			const timeline = await fake("GET", "/_fake/timeline?user=2244994945");
			expect(timeline.data.length > 0 && timeline.data[0].text === text,
				"not on the fake X's timeline");
			const link = m.locator(`a.on-x[href="https://x.com/XDevelopers/status/${timeline.data[0].id}"]`);
			expect(await link.count() === 1, "the history does not link to the post");
			await shots(m, "publishing");
		});

		await step(m, "cookie connect, then a post through it", async () => {
			const tok = "ab".repeat(20), ct0 = "cd".repeat(16);
			await fake("POST", "/_fake/users", { id: "7001", username: "cookie_e2e",
				name: "Cookie E2E" });
			await fake("POST", "/_fake/cookies", { auth_token: tok, ct0: ct0, user_id: "7001" });
			await m.goto(BASE + "/app/channels");
			const card = m.locator("#cookie-connect");
			const warning = await card.innerText();
			expect(warning.includes("unofficial") && warning.includes("terms"),
				"no warning about unofficial endpoints and X's terms");
			await m.getByLabel("auth_token").fill(tok);
			await m.getByLabel("ct0").fill(ct0);
			await m.locator("#connect-cookies").click();
			await m.waitForURL(/n=cookie_connected/);
			const row = m.locator("#channels tr", { hasText: "@cookie_e2e" });
			expect((await row.innerText()).includes("Cookie"), "no cookie channel row");
			await m.getByRole("link", { name: "Publishing" }).click();
			const text = "Through the cookies " + Date.now();
			await m.locator("#text").fill(text);
			for (const box of await m.locator('input[name="channel"]').all())
				await box.uncheck();
			await m.getByLabel("@cookie_e2e").check();
			await m.getByRole("button", { name: "Publish now" }).click();
			await m.waitForURL(/n=sent/);
			const tl = await fake("GET", "/_fake/timeline?user=7001");
			expect(tl.data.length > 0 && tl.data[0].text === text && tl.data[0].via === "web",
				"the cookie post is not on the fake X");
		});

		await step(m, "a wrong secret: the callback says 401 with the guide's explanation", async () => {
			await page.goto(BASE + PAGE);
			await page.getByLabel("Client Secret").fill("not-the-right-secret");
			await page.getByRole("button", { name: "Save", exact: true }).click();
			await page.waitForURL(/n=saved/);
			await m.goto(BASE + "/app/channels");
			await m.locator("#connect-oauth").click();
			await m.waitForURL(FAKEX + "/**");
			await m.locator("select#user").selectOption("2244994945");
			const [resp] = await Promise.all([
				m.waitForResponse(r => r.url().includes("/api/v1/auth/twitter/callback")),
				m.locator("#approve").click(),
			]);
			expect(resp.status() === 401, "callback answered " + resp.status());
			const text = await m.locator("main").innerText();
			expect(text.includes("Keys and tokens") && text.includes("Public Client") &&
				text.includes("Web App, Automated App or Bot"), "explanation missing: " + text);
			await shots(m, "callback-401");
			await page.goto(BASE + PAGE);
			await page.getByLabel("Client Secret").fill(secret);
			await page.getByRole("button", { name: "Save", exact: true }).click();
			await page.waitForURL(/n=saved/);
		});

		await step(page, "Disable, then Test says disabled by admin", async () => {
			await page.goto(BASE + PAGE);
			await page.getByLabel("Disable").check();
			await page.getByRole("button", { name: "Save", exact: true }).click();
			await page.waitForURL(/n=saved/);
			await page.getByRole("button", { name: "Test credentials" }).click();
			await page.locator("#test-result").waitFor();
			expect((await page.locator("#test-result").innerText())
				.includes("X (Twitter) integration disabled by admin"), "no disabled message");
		});

		await step(m, "disabled: the member sees why instead of Connect; the channel still publishes", async () => {
			await m.goto(BASE + "/app/channels");
			expect(await m.locator("#connect-oauth").count() === 0, "Connect still shown");
			expect((await m.locator("#connect-unavailable").innerText())
				.includes("X (Twitter) integration disabled by admin"), "no reason shown");
			expect((await m.locator("#channels .badge").first().innerText()) === "active",
				"existing channel not active");
			await m.goto(BASE + "/app/publishing");
			await m.locator("#text").fill("Still publishing while disabled " + Date.now());
			await m.getByLabel("@XDevelopers").check();
			await m.getByRole("button", { name: "Publish now" }).click();
			await m.waitForURL(/n=sent/);
			expect(await m.locator("article.post").first().locator('[data-state="posted"]').count() === 1,
				"the existing channel could not publish while disabled");
			await page.goto(BASE + PAGE);
			await page.getByLabel("Enable").check();
			await page.getByRole("button", { name: "Save", exact: true }).click();
			await page.waitForURL(/n=saved/);
		});
	} finally {
		await browser.close();
	}
	console.log(`${results.passed} passed, ${results.failed} failed`);
	process.exit(results.failed ? 1 : 0);
})().catch(e => { console.log("not ok - " + e); console.log("0 passed, 1 failed"); process.exit(1); });
