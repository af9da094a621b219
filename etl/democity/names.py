"""Name pools of the demo city, and vectorised name makers (people, firms, shops, buildings).

Everything here is GBK-encodable on purpose: some inbox files are written in GBK, as street
offices' old Excel installations still do.
"""
from __future__ import annotations

import numpy as np

# The most frequent Chinese surnames, roughly in order of frequency (weights fall off with rank).
SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
    "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
) + ["欧阳", "诸葛", "司马", "上官"]
GIVEN_CHARS = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红波建国文斌宇浩凯婷雪琳晨鑫鹏辉俊峰志"
    "海燕雷飞亮颖慧佳欣怡晓玲琴云莉彬龙新宁斌海涛健康荣梅丹阳帆瑶倩薇嘉睿博子轩梓涵一诺思远雨泽"
    "欢乐庆春秋冬夏立成德福顺祥林森燕子瑜琪璐蕾珊岚毅坤昊天航铭哲"
)
ORIGINS = [
    # label, weight, prefixes of the resident-ID area codes of the place
    ("湖北武汉", 8, ["4201"]),
    ("湖北孝感", 2, ["4209", "4221"]),
    ("湖北黄冈", 2, ["4211", "4221"]),
    ("安徽阜阳", 10, ["3412", "3421"]),
    ("安徽六安", 5, ["3415", "3424"]),
    ("安徽安庆", 4, ["3408"]),
    ("河南信阳", 8, ["4115", "4130"]),
    ("河南周口", 6, ["4116", "4127"]),
    ("河南商丘", 4, ["4114", "4123"]),
    ("江苏盐城", 6, ["3209"]),
    ("江苏南通", 5, ["3206"]),
    ("浙江温州", 4, ["3303"]),
    ("江西上饶", 5, ["3611", "3623"]),
    ("四川达州", 4, ["5117", "5130"]),
    ("重庆万州", 3, ["5001", "5121"]),
    ("山东临沂", 4, ["3713", "3728"]),
    ("湖南邵阳", 4, ["4305"]),
    ("甘肃天水", 2, ["6205"]),
    ("黑龙江哈尔滨", 2, ["2301"]),
    ("广东广州", 2, ["4401"]),
    ("上海本地", 10, ["3101"]),
]
HUBEI = ("湖北武汉", "湖北孝感", "湖北黄冈")
LOCAL_ORIGIN = "上海本地"

BRAND_CHARS = list(
    "华鑫汇博瑞达通联创智科信宏腾远恒泰盛隆兴昌凯德嘉源润丰佳禾云海天星辰光明新金宝中东申浦沪锦绿蓝青"
    "安永祥和合骏驰优捷讯易思维睿誉品尚卓越英豪迈悦享融达富强景晟铭泓沣朗晖澜峰岳川鼎诚益乐美美康"
)
INDUSTRY_WORDS = [
    # (word in the firm's name, industry category of the registry)
    ("科技", "科学研究和技术服务业"),
    ("信息技术", "信息传输、软件和信息技术服务业"),
    ("网络科技", "信息传输、软件和信息技术服务业"),
    ("软件", "信息传输、软件和信息技术服务业"),
    ("数据科技", "信息传输、软件和信息技术服务业"),
    ("贸易", "批发和零售业"),
    ("商贸", "批发和零售业"),
    ("国际贸易", "批发和零售业"),
    ("实业", "制造业"),
    ("电子", "制造业"),
    ("机械设备", "制造业"),
    ("新材料", "制造业"),
    ("医疗器械", "制造业"),
    ("生物科技", "科学研究和技术服务业"),
    ("投资管理", "租赁和商务服务业"),
    ("企业管理咨询", "租赁和商务服务业"),
    ("广告", "租赁和商务服务业"),
    ("人力资源", "租赁和商务服务业"),
    ("文化传媒", "文化、体育和娱乐业"),
    ("文化发展", "文化、体育和娱乐业"),
    ("餐饮管理", "住宿和餐饮业"),
    ("酒店管理", "住宿和餐饮业"),
    ("物流", "交通运输、仓储和邮政业"),
    ("供应链管理", "交通运输、仓储和邮政业"),
    ("国际货运代理", "交通运输、仓储和邮政业"),
    ("建筑工程", "建筑业"),
    ("装饰工程", "建筑业"),
    ("房地产经纪", "房地产业"),
    ("金融信息服务", "金融业"),
    ("教育科技", "教育"),
    ("环保科技", "水利、环境和公共设施管理业"),
    ("健康管理", "卫生和社会工作"),
]
FIRM_SUFFIXES = ["有限公司", "有限公司", "有限公司", "有限公司", "股份有限公司", "有限责任公司", "（集团）有限公司"]

SHOP_TYPES = [
    ("面馆", "住宿和餐饮业"), ("便利店", "批发和零售业"), ("水果店", "批发和零售业"), ("理发店", "居民服务业"),
    ("生鲜超市", "批发和零售业"), ("烟杂店", "批发和零售业"), ("干洗店", "居民服务业"), ("药房", "批发和零售业"),
    ("包子铺", "住宿和餐饮业"), ("馄饨店", "住宿和餐饮业"), ("快餐店", "住宿和餐饮业"), ("咖啡馆", "住宿和餐饮业"),
    ("奶茶店", "住宿和餐饮业"), ("花店", "批发和零售业"), ("五金店", "批发和零售业"), ("房产中介", "房地产业"),
    ("眼镜店", "批发和零售业"), ("烘焙坊", "住宿和餐饮业"), ("小吃店", "住宿和餐饮业"), ("烧烤店", "住宿和餐饮业"),
    ("美容美发", "居民服务业"), ("熟食店", "批发和零售业"), ("粮油店", "批发和零售业"), ("茶叶店", "批发和零售业"),
    ("文具店", "批发和零售业"), ("照相馆", "居民服务业"), ("修鞋店", "居民服务业"), ("早餐店", "住宿和餐饮业"),
    ("酒家", "住宿和餐饮业"), ("菜馆", "住宿和餐饮业"), ("足浴店", "居民服务业"), ("洗衣店", "居民服务业"),
]
SHOP_PREFIX_WORDS = list(
    "老阿小"
)
BUILDING_TYPES_NAME = ["大厦", "大楼", "中心", "广场", "商务楼", "国际大厦", "商务中心", "科技园", "创意园", "金融中心",
                       "商厦", "大厦", "中心", "广场", "园区"]
BUILDING_KIND_BY_SUFFIX = {
    "科技园": "产业园区", "创意园": "产业园区", "园区": "产业园区", "广场": "商业综合体", "商厦": "商业综合体",
}
BUILDING_WINGS = ["A座", "B座", "C座", "一期", "二期", "北楼", "南楼", "东楼", "西楼"]
ROADS = [
    "江苏路", "延安西路", "愚园路", "长宁路", "天山路", "仙霞路", "虹桥路", "中山西路", "南京东路", "南京西路", "福州路",
    "九江路", "汉口路", "四川北路", "西藏中路", "河南中路", "山东中路", "浙江中路", "广西北路", "云南中路", "贵州路",
    "湖北路", "武定路", "昌平路", "康定路", "新闸路", "北京西路", "威海路", "茂名北路", "陕西北路", "常德路", "江宁路",
    "胶州路", "万航渡路", "长寿路", "曹杨路", "武宁路", "金沙江路", "真北路", "中山北路", "大渡河路", "枣阳路",
    "兰溪路", "梅川路", "铜川路", "光新路", "宜川路", "西康路", "长风路", "同普路", "祁连山路", "交通路", "沪太路",
    "共和新路", "场中路", "广中路", "四平路", "大连路", "杨树浦路", "平凉路", "控江路", "黄兴路", "国权路", "政通路",
    "淞沪路", "殷行路", "嫩江路", "军工路", "周家嘴路", "江浦路", "隆昌路", "宁国路", "长阳路", "霍山路", "打浦路",
    "徐家汇路", "肇嘉浜路", "漕溪北路", "天钥桥路", "龙华西路", "宜山路", "钦州路", "桂林路", "田林路", "虹梅路",
    "漕宝路", "莲花路", "顾戴路", "沪闵路", "七莘路", "莘松路", "都市路", "银都路", "浦锦路", "江川路", "剑川路",
    "世纪大道", "张杨路", "浦东南路", "浦电路", "东方路", "崂山路", "源深路", "杨高中路", "金桥路", "川沙路",
    "华夏中路", "龙东大道", "张江路", "祖冲之路", "碧波路", "科苑路", "锦绣路", "上南路", "成山路", "杨思路",
    "济阳路", "三林路", "康桥路", "秀沿路", "沪南公路", "城中路", "博乐路", "塔城路", "曹安公路", "牡丹江路",
    "友谊路", "同济路", "中山中路", "人民北路", "荣乐东路", "文诚路", "城中北路", "公园路", "解放东路", "南桥路",
    "八一路", "人民路", "新源路", "嘉怡路", "宝杨路", "泰和路", "沪宜公路", "嘉松北路", "外青松公路", "朱枫公路",
]
COMMUNITY_STEMS = list("华康乐和平安新丰宁泰兴福祥瑞景春秋东西南北中金银玉桂兰梅竹松柏枫桃杏")
COMMUNITY_SUFFIXES = ["新村", "苑", "小区", "花园", "一村", "二村", "三村", "里", "坊", "公寓", "家园", "城"]
PROPERTY_STEMS = list("中金万绿保陆新东上申永华世龙明锦城徐长浦静")


def pick(rng: np.random.Generator, pool: list[str], n: int, p: np.ndarray | None = None) -> np.ndarray:
    """n draws from a pool as a numpy unicode array."""
    arr = np.array(pool)
    return arr[rng.choice(len(arr), size=n, p=p)]


def surname_weights() -> np.ndarray:
    w = 1.0 / (np.arange(len(SURNAMES)) + 8.0)
    w[-4:] = w[-4:] * 0.2
    return w / w.sum()


def person_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """Chinese names: surname + one or two given-name characters."""
    sur = pick(rng, SURNAMES, n, surname_weights())
    g1 = pick(rng, GIVEN_CHARS, n)
    g2 = pick(rng, GIVEN_CHARS, n)
    two = rng.random(n) < 0.62
    given = np.where(two, np.char.add(g1, g2), g1)
    return np.char.add(sur, given)


def brands(rng: np.random.Generator, n: int, length: int = 2) -> np.ndarray:
    out = pick(rng, BRAND_CHARS, n)
    for _ in range(length - 1):
        out = np.char.add(out, pick(rng, BRAND_CHARS, n))
    return out


def draw_unique(make, rng: np.random.Generator, n: int, groups: np.ndarray | None = None, key=None):
    """Draw ``n`` names with ``make(rng, m, attempt) -> (names, *extras)``, redrawing duplicates.

    A name must be unique within its group (e.g. its street), compared by ``key`` (default: itself).
    Returns the names and every extra array ``make`` returned, aligned.
    """
    first = make(rng, n, 0)
    first = first if isinstance(first, tuple) else (first,)
    outs = [np.empty(n, dtype=object) for _ in first]
    seen: set = set()
    todo = np.arange(n)
    batch = first
    attempt = 0
    while len(todo):
        names = batch[0].tolist()
        grp = [None] * len(todo) if groups is None else groups[todo].tolist()
        redo = []
        for j, (i, name, g) in enumerate(zip(todo.tolist(), names, grp)):
            k = (g, name if key is None else key(name))
            if k in seen:
                redo.append(i)
                continue
            seen.add(k)
            for out, arr in zip(outs, batch):
                out[i] = arr[j]
        todo = np.array(redo, dtype=int)
        attempt += 1
        if len(todo):
            batch = make(rng, len(todo), attempt)
            batch = batch if isinstance(batch, tuple) else (batch,)
    result = tuple(np.array(o.tolist()) for o in outs)
    return result if len(result) > 1 else result[0]


def firm_names(rng: np.random.Generator, n: int, attempt: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Names like 上海瑞达信息技术有限公司 or 锦泰（上海）贸易有限公司, and each one's industry index."""
    ind = rng.integers(0, len(INDUSTRY_WORDS), n)
    words = np.array([w for w, _ in INDUSTRY_WORDS])[ind]
    brand = brands(rng, n, 2 if attempt < 2 else 3)
    suffix = pick(rng, FIRM_SUFFIXES, n)
    style = rng.random(n)
    a = np.char.add(np.char.add(np.char.add("上海", brand), words), suffix)
    b = np.char.add(np.char.add(np.char.add(brand, "（上海）"), words), suffix)
    c = np.char.add(np.char.add(np.char.add(np.char.add("上海", brand), "实业"), words), suffix)
    return np.where(style < 0.82, a, np.where(style < 0.94, b, c)), ind


def shop_names(rng: np.random.Generator, n: int, attempt: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Names like 老王面馆, 阿强便利店, 鑫华水果店 (unique within a street, not in the city)."""
    kind = rng.integers(0, len(SHOP_TYPES), n)
    types = np.array([t for t, _ in SHOP_TYPES])[kind]
    sur = pick(rng, SURNAMES[:60], n)
    style = rng.random(n)
    prefix = np.where(
        style < 0.25, np.char.add("老", sur),
        np.where(style < 0.45, np.char.add("阿", pick(rng, GIVEN_CHARS, n)),
                 np.where(style < 0.6, np.char.add(sur, "记"), brands(rng, n, 2 if attempt < 3 else 3))),
    )
    names = np.char.add(prefix, types)
    if attempt >= 2:
        names = np.char.add(np.char.add(names, "（"), np.char.add(pick(rng, ROADS, n), "店）"))
    return names, kind


def building_names(rng: np.random.Generator, n: int, attempt: int = 0) -> np.ndarray:
    brand = brands(rng, n, 2)
    suffix = pick(rng, BUILDING_TYPES_NAME, n)
    names = np.char.add(brand, suffix)
    if attempt >= 1:
        names = np.char.add(names, pick(rng, BUILDING_WINGS, n))
    if attempt >= 3:
        names = np.char.add(pick(rng, BRAND_CHARS, n), names)
    return names


def community_names(rng: np.random.Generator, n: int, village: np.ndarray) -> np.ndarray:
    stem = np.char.add(pick(rng, COMMUNITY_STEMS, n), pick(rng, COMMUNITY_STEMS, n))
    res = np.char.add(np.char.add(stem, pick(rng, COMMUNITY_SUFFIXES, n)), "居委会")
    vil = np.char.add(stem, "村村委会")
    return np.where(village, vil, res)


def property_company_names(rng: np.random.Generator, n: int) -> np.ndarray:
    stem = np.char.add(pick(rng, PROPERTY_STEMS, n), pick(rng, BRAND_CHARS, n))
    kind = pick(rng, ["物业管理有限公司", "物业服务有限公司", "物业有限公司", "资产管理有限公司"], n)
    return np.char.add(np.char.add("上海", stem), kind)
