"""`make demo` shows the whole product (issue #13): the demo runs end to end, in process, and its
transcript holds every step — an album, a forward, the private flow, an English-language chat, an
emergency sent straight on, a 退单, an approved 申请延期, 非常满意, a red card, 不满意 → reopened →
不满意 → review, and the month's 通报 last. Steps are read from the dispatch, department, leaders'
and private chats and from button words (community chats are the neighbours': what the bot says
there may change shape)."""
from __future__ import annotations

from bot.demo import play


def first(lines: list[str], check) -> int:  # noqa: ANN001
    """The index of the first line that passes `check` (a predicate or an exact line)."""
    test = check if callable(check) else (lambda line: line == check)
    for i, line in enumerate(lines):
        if test(line):
            return i
    raise AssertionError(f"no line {check!r} in the transcript:\n" + "\n".join(lines))


def starts(prefix: str):  # noqa: ANN201
    return lambda line: line.startswith(prefix)


def has(*words: str):  # noqa: ANN201
    return lambda line: all(w in line for w in words)


async def test_the_demo_plays_the_whole_product_and_ends_with_the_bulletin(tmp_path):
    transcript, db = await play(quiet=True, data=tmp_path)
    assert db.exists() and db.parent == tmp_path
    lines = transcript.splitlines()
    steps: list[int | tuple[int, int]] = [
        # intake by three roads; the private appeal's area from its pin
        first(lines, has("[港口镇居民群] 张阿姨: @huying_bot 小区南门口的垃圾三天没人清运了", "📷×3")),
        first(lines, "[港口镇居民群] 王网格员: [转发自 王奶奶] 我家楼上水管漏水两天了，天花板一直在滴水，找不到人修"),
        first(lines, has("[刘先生] 呼应: 请确认：", "区域：青山社区｜已附位置", "[提交] [取消]")),
        first(lines, has("[12345派单中心] 呼应: #2026-000003｜求助｜一般 │ 区域：青山社区")),
        # the English-language chat
        first(lines, "[新河街道居民群] 呼应 ↪ 区管理员「/lang en」: Language set to English."),
        first(lines, has("[新河街道居民群] 呼应 ↪ Mr. Smith", "✅ Your appeal is registered as #2026-000004.")),
        first(lines, "[12345派单中心] 吴派单员 ▶ [派单]"),
        # the emergency: straight to its department, the on-duty dispatcher named, the leaders told
        # (one transaction sends both, to two chats: either may leave the outbox first)
        (first(lines, has("[12345派单中心] 呼应: 🔴 #2026-000005｜求助｜紧急",
                          "🚨 紧急诉求，已直接派至住房和城乡建设局，无需等待派单",
                          "🚨 紧急工单 · 值班派单员：吴派单员，请立即处理", "[改类型] [改普通]")),
         first(lines, "[区领导群] 呼应: 🚨 紧急诉求 #2026-000005（港口镇）已直接派至住房和城乡建设局，无需等待派单："
                      "3栋楼道里有很浓的煤气味，快来人")),
        first(lines, "[住房和城乡建设局工作群] 周承办(住建) ▶ [签收]"),
        # 退单, and the ticket sent on
        first(lines, "[城市管理局工作群] 赵承办(城管) ▶ [退单]"),
        first(lines, has("[12345派单中心] 呼应: #2026-000004", "↩️ 城市管理局 退单（第 1 次）：供水管道漏水归水务局管理，请改派")),
        first(lines, starts("[水务局工作群] 呼应: #2026-000004｜求助｜一般 │ 诉求：The water pipe under the pavement")),
        # 申请延期, approved
        first(lines, "[交通运输局工作群] 冯承办(交通) ▶ [申请延期]"),
        first(lines, "[12345派单中心] 呼应: ⏳ 延期申请 #2026-000003（交通运输局） │ 理由：灯杆老化需要整根更换，订货需要时间 │ "
                     "申请延至：2026-12-04  [批准延期] [不予延期]"),
        first(lines, "[12345派单中心] 吴派单员 ▶ [批准延期]"),
        first(lines, "[交通运输局工作群] 呼应: ✅ #2026-000003 延期已批准，新的办结时限：2026-12-04。"),
        # the happy path
        first(lines, "[港口镇居民群] 张阿姨 ▶ [非常满意]"),
        first(lines, "[城市管理局工作群] 呼应: 诉求 #2026-000001：诉求人评价「非常满意」，工单已办结。"),
        # yellow, then red
        first(lines, has("[水务局工作群] 呼应", "⏰ 已超时 #2026-000002", "🟨 水务局记黄牌一张")),
        first(lines, starts("[区领导群] 呼应: 🟥 红牌通报：水务局连续两次超时。 │ 工单 #2026-000004：签收时限")),
        # 不满意 → reopened → 不满意 → review, closed with an explanation
        first(lines, "[刘先生] 刘先生 ▶ [不满意]"),
        first(lines, has("[交通运输局工作群] 呼应: #2026-000003", "问题没有解决", "[办结] [申请延期]")),
        first(lines, "[交通运输局工作群] 冯承办(交通) ↪ 呼应「办结 #2026-000…」: 已更换整根灯杆并重新接线"),
        first(lines, starts("[12345派单中心] 呼应: ⚖️ 不满意诉求审核 #2026-000003 │ 主办部门：交通运输局　不满意 2 次")),
        first(lines, "[12345派单中心] 吴派单员 ▶ [关闭并说明]"),
        first(lines, "[12345派单中心] 呼应 ↪ 吴派单员「经现场核实，青山路口路灯…」: 已关闭并通知诉求人。"),
        # the month's 通报, last
        first(lines, starts("[区领导群] 呼应: 📊 2026年11月 诉求办理通报")),
    ]
    spans = [(min(s), max(s)) if isinstance(s, tuple) else (s, s) for s in steps]
    assert all(before[1] < after[0] for before, after in zip(spans, spans[1:])), spans
    assert sum(line == "[刘先生] 刘先生 ▶ [不满意]" for line in lines) == 2
    bulletin = first(lines, starts("[区领导群] 呼应: 📊 2026年11月 诉求办理通报"))
    assert has("受理诉求 5 件", "退单 1，重办 1", "黄牌 1，红牌 1")(lines[bulletin])
    assert lines[bulletin:] == [
        lines[bulletin], lines[bulletin + 1],
        "[区领导群] 呼应: 2026年11月 各部门响应率、办结率、满意率 📷",
        "[12345派单中心] 呼应: 2026年11月 各部门响应率、办结率、满意率 📷",
    ] and lines[bulletin + 1].startswith("[12345派单中心] 呼应: 📊 2026年11月 诉求办理通报")
