import ScionCore
import Testing

@Suite("lineage: the tree of who started whom")
struct LineageTests {
    let lineage = Lineage([
        ("lead", nil), ("api", "lead"), ("tests", "api"), ("docs", "lead"), ("solo", nil), ("orphan", "gone"),
    ])

    @Test("children, descendants (depth first), ancestors and depth follow the parents")
    func relations() {
        #expect(lineage.children(of: "lead") == ["api", "docs"])
        #expect(lineage.descendants(of: "lead") == ["api", "tests", "docs"])
        #expect(lineage.ancestors(of: "tests") == ["api", "lead"])
        #expect(lineage.depth(of: "tests") == 2)
        #expect(lineage.isDescendant("tests", of: "lead"))
        #expect(!lineage.isDescendant("lead", of: "tests"))
        #expect(!lineage.isDescendant("docs", of: "api"), "a sibling is not a descendant")
    }

    @Test("the tree order puts each child under its parent; a parent that is gone makes its child a root")
    func treeOrder() {
        #expect(lineage.treeOrder.map(\.name) == ["lead", "api", "tests", "docs", "orphan", "solo"])
        #expect(lineage.treeOrder.map(\.depth) == [0, 1, 2, 1, 0, 0])
    }

    @Test("a cycle in hand-edited records is broken instead of looping")
    func cycle() {
        let looped = Lineage([("a", "b"), ("b", "a")])
        #expect(looped.ancestors(of: "a").count <= 1)
        #expect(looped.treeOrder.count == 2)
    }

    @Test("an agent may act only on its own descendants; the refusal names what it is and exits 15")
    func authority() throws {
        let api = AgentAuthority(actor: "api")
        try api.requireDescendant("tests", lineage: lineage, to: "stop")
        let parent = #expect(throws: ScionError.self) { try api.requireDescendant("lead", lineage: lineage, to: "stop") }
        #expect(parent?.message == "agent api may stop only its own descendants, not its ancestor lead (its descendants: tests)")
        #expect(parent?.exitCode == 15)
        let sibling = #expect(throws: ScionError.self) { try api.requireDescendant("docs", lineage: lineage, to: "delete") }
        #expect(sibling?.message.contains("not docs") == true)
        try AgentAuthority(actor: nil).requireDescendant("lead", lineage: lineage, to: "stop")
    }
}
